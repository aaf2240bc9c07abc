#!/usr/bin/env bash
# Builds the container images of the container suite locally, without any registry (nothing is pulled):
#   kcl-emulator:<crate version> and kcl-emulator:local  the kcl-emulator server, from the release binary
#   kcl-dynalite:local                                    dynalite on the machine's Node.js: a DynamoDB-compatible
#                                                         lease table for CI, where DynamoDB Local cannot be had
# Both are root filesystems packed by scripts/build-image.sh and loaded with `docker import`; run them with
# host networking (`--network host`), bound to 127.0.0.1 (see kcl_emulator::testcontainers and
# kcl_checkpoint::testcontainers). Needs a docker engine (bash scripts/docker-engine.sh start) and Node.js.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
# shellcheck source=scripts/services.sh
source scripts/services.sh

VERSION=$(sed -n '/^\[workspace.package\]/,/^\[/s/^version = "\(.*\)"/\1/p' Cargo.toml)
echo "== cargo build --release -p kcl-emulator (the image's binary)"
cargo build --release --quiet -p kcl-emulator --bin kcl-emulator
bash scripts/build-image.sh target/release/kcl-emulator "kcl-emulator:$VERSION" --tag kcl-emulator:local --port 4567

# dynalite from the npm registry (the same install as the test servers), on this machine's node binary.
services_install >/dev/null
NODE=$(command -v node)
bash scripts/build-image.sh "$NODE" kcl-dynalite:local --port 4567 \
  --add "$KCL_STATE_DIR/node/node_modules=/opt/dynalite/node_modules" \
  --arg /opt/dynalite/node_modules/dynalite/cli.js
