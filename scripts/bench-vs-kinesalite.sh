#!/usr/bin/env bash
# The emulator's server against kinesalite, side by side (kcl-emulator/examples/bench_vs_kinesalite.rs):
#   bash scripts/bench-vs-kinesalite.sh [--seconds S]
# Installs kinesalite with scripts/services.sh (npm, under .ci/state), builds the emulator binary and the
# benchmark in release, and runs it; arguments go to the benchmark. Only 127.0.0.1 traffic.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
# shellcheck source=scripts/services.sh
source scripts/services.sh
if [ ! -d "$KCL_STATE_DIR/node/node_modules/kinesalite" ]; then
  services_install
fi
export KCL_STATE_DIR
cargo build --release -p kcl-emulator --bin kcl-emulator --example bench_vs_kinesalite
exec cargo run --release -p kcl-emulator --example bench_vs_kinesalite -- "$@"
