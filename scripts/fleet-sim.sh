#!/usr/bin/env bash
# Runs the seeded fleet simulation on many seeds, in a release build, on every core:
#   bash scripts/fleet-sim.sh 0..100000        (a seed range)
#   bash scripts/fleet-sim.sh 4711             (one seed: its violations with the events around them)
# Extra environment: KCL_SIM_THREADS (default: all cores), KCL_SIM_MAX_SECONDS (stop after that long).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
export KCL_SIM_SEEDS="${1:-0..10000}"
exec cargo test --release --test fleet_simulation -- fleet_simulation_keeps_every_invariant_on_every_seed --nocapture
