#!/usr/bin/env bash
# The one command that runs every kcl-rs test on a fresh machine (the README's test command; .ci/run calls it).
# It installs and starts dynalite, kinesalite and moto on 127.0.0.1 (and installs boto3, aws-cli and the AWS SDK
# for JavaScript, the clients of the emulator's conformance suites) and a docker engine with host networking
# only (scripts/docker-engine.sh: no bridge, no iptables rules), sets KCL_TEST_REQUIRE_SERVERS=1 and
# KCL_TEST_REQUIRE_DOCKER=1 so that no real-server or container test may skip, runs the gates (fmt, clippy,
# tests, doc tests, docs) and stops what it started.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
# shellcheck source=scripts/services.sh
source scripts/services.sh
# shellcheck source=scripts/docker-engine.sh
source scripts/docker-engine.sh

services_install
docker_install
trap 'services_stop; docker_stop' EXIT
services_start
docker_start
export KCL_TEST_REQUIRE_SERVERS=1 KCL_TEST_REQUIRE_DOCKER=1
# A one-off build gains nothing from incremental state, which would add ~15 GB to the disk the suite needs.
export CARGO_INCREMENTAL=0
# The many-seed run of the fleet simulation gets its own step below (with its figures printed).
SIM_TEST=fleet_simulation_keeps_every_invariant_on_every_seed

echo "== container images (scripts/build-images.sh: kcl-emulator, kcl-dynalite; no registry)"
bash scripts/build-images.sh
echo "== cargo fmt --check"
cargo fmt --all --check
echo "== cargo clippy"
cargo clippy --workspace --all-targets --all-features -- -D warnings
echo "== tests"
if cargo nextest --version >/dev/null 2>&1; then
  cargo nextest run --workspace --all-features --no-fail-fast -E "not test(=$SIM_TEST)"
else
  cargo test --workspace --all-features --no-fail-fast -- --skip "$SIM_TEST"
fi
echo "== the kcl-emulator image passes the binary's black-box checks (kcl-emulator/tests/server_cli.rs)"
if cargo nextest --version >/dev/null 2>&1; then
  KCL_TEST_EMULATOR_IMAGE=kcl-emulator:local cargo nextest run -p kcl-emulator --all-features --test server_cli
else
  KCL_TEST_EMULATOR_IMAGE=kcl-emulator:local cargo test -p kcl-emulator --all-features --test server_cli
fi
docker ps -aq --filter label=kcl-test=server_cli | xargs -r docker rm -f >/dev/null
echo "== fleet simulation: as many seeds as fit in 5 minutes, at least 600 (tests/fleet_simulation.rs)"
KCL_SIM_SEEDS=0..3000 KCL_SIM_MAX_SECONDS=300 KCL_SIM_MIN_SEEDS=600 \
  cargo test --all-features --test fleet_simulation -- "$SIM_TEST" --exact --nocapture
echo "== doc tests"
cargo test --workspace --all-features --doc
echo "== docs (broken intra-doc links denied)"
RUSTDOCFLAGS="-D warnings" cargo doc --workspace --all-features --no-deps --quiet
echo "== all gates passed"
