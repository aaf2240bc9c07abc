#!/usr/bin/env bash
# Container image figures for BENCHMARKS.md: the size of each image built by scripts/build-images.sh and its
# start-to-ready time (from `docker run` to the server's ready line in its logs), median and range of N runs
# (default 10), with host networking on 127.0.0.1.
#   bash scripts/build-images.sh && bash scripts/bench-images.sh [N]
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
# shellcheck source=scripts/docker-engine.sh
source scripts/docker-engine.sh
RUNS=${1:-10}
docker_available || { echo "error: no docker engine (bash scripts/docker-engine.sh start)" >&2; exit 1; }

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}
now_ms() { date +%s%3N; }

# bench <image> <ready line> <args...>: prints the size and start-to-ready figures.
bench() {
  local image=$1 ready=$2 size times=() i port name start
  shift 2
  size=$(docker image inspect --format '{{.Size}}' "$image")
  for ((i = 0; i < RUNS; i++)); do
    port=$(free_port)
    name="kcl-bench-$$-$i"
    start=$(now_ms)
    docker run -d --rm --network host --name "$name" "$image" "$@" --host 127.0.0.1 --port "$port" >/dev/null
    until docker logs "$name" 2>&1 | grep -qF "$ready"; do sleep 0.005; done
    times+=($(($(now_ms) - start)))
    docker rm -f "$name" >/dev/null
  done
  sorted=$(printf '%s\n' "${times[@]}" | sort -n)
  printf '%-22s size %6s MB   start-to-ready over %d runs: median %s ms, min %s ms, max %s ms\n' \
    "$image" "$((size / 1000000))" "$RUNS" "$(sed -n "$(((RUNS + 1) / 2))p" <<<"$sorted")" \
    "$(head -1 <<<"$sorted")" "$(tail -1 <<<"$sorted")"
}

bench kcl-emulator:local "kcl-emulator listening on" --stream orders:4
bench kcl-dynalite:local "Dynalite listening at"
