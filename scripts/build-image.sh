#!/usr/bin/env bash
# Builds a local Docker image from one (release) binary without any registry or base image:
#   bash scripts/build-image.sh <binary> <image:tag> [--port N[/tcp|/udp]]... [--env K=V]...
#                               [--add HOST_PATH=IMAGE_PATH]... [--arg ARG]... [--tag image:tag]...
# e.g. bash scripts/build-image.sh target/release/examples/ecs_consumer kcl-ecs-consumer:latest --port 8080
#
# The root filesystem holds only: the binary at /usr/local/bin/<name>, the shared libraries `ldd` lists (at the
# same paths, the dynamic loader included), /etc/ssl/certs/ca-certificates.crt when the host has it (TLS to real
# AWS), /etc/passwd and /etc/group with the non-root user kcl (uid/gid 10001), /etc/nsswitch.conf and /etc/hosts
# so that localhost resolves, and /tmp (mode 1777). It is packed with tar and loaded with `docker import`;
# ENTRYPOINT is the binary in exec form with no CMD, so `docker run <image> ARGS...` passes ARGS to it
# (e.g. `docker run --rm --network host <image> --healthcheck`). USER is 10001.
# --add copies a file or directory tree into the image (e.g. the node_modules of an interpreter's program);
# --arg appends a fixed argument to the ENTRYPOINT (e.g. the script an interpreter runs); --tag adds tags.
#
# The engine is the one on $DOCKER_HOST (see scripts/docker-engine.sh: bash scripts/docker-engine.sh start).
set -euo pipefail
KCL_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=scripts/docker-engine.sh
source "$KCL_ROOT/scripts/docker-engine.sh"

usage() {
  echo "usage: bash $0 <binary> <image:tag> [--port N[/tcp|/udp]]... [--env K=V]..." >&2
  exit 2
}

[ $# -ge 2 ] || usage
BINARY=$1 IMAGE=$2
shift 2
PORTS=() ENVS=() ADDS=() ARGS=() TAGS=()
while [ $# -gt 0 ]; do
  case "$1" in
    --port) [ $# -ge 2 ] || usage; PORTS+=("$2"); shift 2 ;;
    --port=*) PORTS+=("${1#--port=}"); shift ;;
    --env) [ $# -ge 2 ] || usage; ENVS+=("$2"); shift 2 ;;
    --env=*) ENVS+=("${1#--env=}"); shift ;;
    --add) [ $# -ge 2 ] || usage; ADDS+=("$2"); shift 2 ;;
    --arg) [ $# -ge 2 ] || usage; ARGS+=("$2"); shift 2 ;;
    --tag) [ $# -ge 2 ] || usage; TAGS+=("$2"); shift 2 ;;
    -h | --help) usage ;;
    *) echo "error: unknown argument: $1" >&2; usage ;;
  esac
done

[ -f "$BINARY" ] || { echo "error: $BINARY: no such file (build it first, e.g. cargo build --release)" >&2; exit 1; }
[ -x "$BINARY" ] || { echo "error: $BINARY is not executable" >&2; exit 1; }
if [ "$(head -c 4 "$BINARY" | od -An -c | tr -d ' ')" != '177ELF' ]; then
  echo "error: $BINARY is not an ELF executable" >&2
  exit 1
fi
case "$IMAGE" in
  '' | -* | *' '*) echo "error: bad image name: '$IMAGE' (expected name:tag)" >&2; exit 1 ;;
esac
for p in "${PORTS[@]}"; do
  if ! [[ "$p" =~ ^[0-9]{1,5}(/(tcp|udp))?$ ]] || [ "${p%%/*}" -lt 1 ] || [ "${p%%/*}" -gt 65535 ]; then
    echo "error: bad --port $p (expected N, N/tcp or N/udp with 1 <= N <= 65535)" >&2
    exit 1
  fi
done
for e in "${ENVS[@]}"; do
  if ! [[ "$e" =~ ^[A-Za-z_][A-Za-z0-9_]*= ]]; then
    echo "error: bad --env $e (expected KEY=VALUE)" >&2
    exit 1
  fi
done

if ! docker_available; then
  echo "error: no docker engine answers on $DOCKER_HOST; start one with: bash scripts/docker-engine.sh start" >&2
  exit 1
fi

NAME=$(basename "$BINARY")
WORK=$(mktemp -d "${TMPDIR:-/tmp}/kcl-image.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
ROOTFS=$WORK/rootfs
mkdir -p "$ROOTFS/usr/local/bin" "$ROOTFS/etc/ssl/certs" "$ROOTFS/tmp"
chmod 0755 "$ROOTFS" "$ROOTFS/usr" "$ROOTFS/usr/local" "$ROOTFS/usr/local/bin" "$ROOTFS/etc"
chmod 1777 "$ROOTFS/tmp"
install -m 0755 "$BINARY" "$ROOTFS/usr/local/bin/$NAME"
# Debug info is for the build machine, not the image (KCL_IMAGE_KEEP_DEBUG=1 keeps it).
if [ "${KCL_IMAGE_KEEP_DEBUG:-0}" != 1 ] && command -v strip >/dev/null; then
  strip --strip-debug "$ROOTFS/usr/local/bin/$NAME"
fi

# Shared libraries, at the paths the loader will look them up by (ldd's paths), symlinks resolved.
copy_lib() {
  local path=$1
  [ -e "$ROOTFS$path" ] && return 0
  mkdir -p "$ROOTFS$(dirname "$path")"
  cp -L "$path" "$ROOTFS$path"
  chmod 0755 "$ROOTFS$path"
  echo "   + $path"
}
LDD_OUT=$(ldd "$BINARY" 2>&1) || true
if grep -q 'not a dynamic executable\|statically linked' <<<"$LDD_OUT"; then
  echo "== $NAME is statically linked: no shared libraries to copy"
else
  if grep -q 'not found' <<<"$LDD_OUT"; then
    echo "error: ldd cannot resolve every library of $BINARY:" >&2
    echo "$LDD_OUT" >&2
    exit 1
  fi
  echo "== shared libraries of $NAME"
  while read -r path; do
    [ -n "$path" ] && copy_lib "$path"
  done < <(awk '$2 == "=>" && $3 ~ /^\// { print $3 } $1 ~ /^\// { print $1 }' <<<"$LDD_OUT")
  # The loader named in PT_INTERP, in case ldd printed it under another spelling.
  if command -v readelf >/dev/null 2>&1; then
    interp=$(readelf -l "$BINARY" 2>/dev/null | sed -n 's/.*Requesting program interpreter: \(.*\)]/\1/p')
    [ -z "$interp" ] || copy_lib "$interp"
  fi
fi

if [ -f /etc/ssl/certs/ca-certificates.crt ]; then
  cp -L /etc/ssl/certs/ca-certificates.crt "$ROOTFS/etc/ssl/certs/ca-certificates.crt"
  chmod 0644 "$ROOTFS/etc/ssl/certs/ca-certificates.crt"
else
  echo "warning: the host has no /etc/ssl/certs/ca-certificates.crt; the image will have no CA bundle" >&2
fi
cat >"$ROOTFS/etc/passwd" <<'EOF'
root:x:0:0:root:/root:/sbin/nologin
kcl:x:10001:10001:kcl:/tmp:/sbin/nologin
nobody:x:65534:65534:nobody:/nonexistent:/sbin/nologin
EOF
cat >"$ROOTFS/etc/group" <<'EOF'
root:x:0:
kcl:x:10001:
nogroup:x:65534:
EOF
cat >"$ROOTFS/etc/nsswitch.conf" <<'EOF'
passwd: files
group: files
hosts: files dns
EOF
cat >"$ROOTFS/etc/hosts" <<'EOF'
127.0.0.1 localhost
::1 localhost ip6-localhost ip6-loopback
EOF
chmod 0644 "$ROOTFS/etc/passwd" "$ROOTFS/etc/group" "$ROOTFS/etc/nsswitch.conf" "$ROOTFS/etc/hosts"

for a in "${ADDS[@]}"; do
  src=${a%%=*} dest=${a#*=}
  [ -e "$src" ] || { echo "error: --add $a: $src does not exist" >&2; exit 1; }
  mkdir -p "$ROOTFS$(dirname "$dest")"
  cp -a -L "$src" "$ROOTFS$dest"
  chmod -R a+rX "$ROOTFS$dest"
done

tar --numeric-owner --owner=0 --group=0 -C "$ROOTFS" -cf "$WORK/rootfs.tar" .

# Dockerfile-syntax value in double quotes (for ENV values with spaces, quotes or backslashes).
dquote() {
  local v=${1//\\/\\\\}
  v=${v//\"/\\\"}
  printf '"%s"' "$v"
}
ENTRYPOINT="\"/usr/local/bin/$NAME\""
for a in "${ARGS[@]}"; do
  ENTRYPOINT+=", $(dquote "$a")"
done
CHANGES=(--change "ENTRYPOINT [$ENTRYPOINT]" --change "USER 10001" --change "WORKDIR /")
for p in "${PORTS[@]}"; do
  CHANGES+=(--change "EXPOSE $p")
done
for e in "${ENVS[@]}"; do
  CHANGES+=(--change "ENV ${e%%=*}=$(dquote "${e#*=}")")
done

echo "== docker import -> $IMAGE ($(du -h "$WORK/rootfs.tar" | cut -f1) tar)"
docker import "${CHANGES[@]}" --message "kcl-rs scripts/build-image.sh: $NAME" - "$IMAGE" <"$WORK/rootfs.tar" >/dev/null
for t in "${TAGS[@]}"; do
  docker tag "$IMAGE" "$t"
done
read -r ID SIZE < <(docker image inspect --format '{{.Id}} {{.Size}}' "$IMAGE")
echo "== built $IMAGE: id $ID, size $(numfmt --to=iec --suffix=B "$SIZE") ($SIZE bytes)"
