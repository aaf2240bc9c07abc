#!/usr/bin/env bash
# Installs and starts the servers the kcl-rs test suite talks to, each bound to 127.0.0.1 only:
#   dynalite (npm)   -> KCL_TEST_DYNALITE_URL
#   moto (PyPI)      -> KCL_TEST_MOTO_URL
#   kinesalite (npm) -> KCL_TEST_KINESALITE_URL
#   boto3 (PyPI)     -> KCL_TEST_PYTHON (a python that can `import boto3`)
#   awscli (PyPI)    -> KCL_TEST_AWS_CLI (the `aws` command of the same venv)
#   @aws-sdk/client-kinesis (npm) -> KCL_TEST_NODE_MODULES (a node_modules folder that holds it)
#
# Source it, then call `services_install`, `services_start` and (from a trap) `services_stop`.
# Everything lives under $KCL_STATE_DIR (default: .ci/state in the checkout, git-ignored).

KCL_ROOT=${KCL_ROOT:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}
KCL_STATE_DIR=${KCL_STATE_DIR:-$KCL_ROOT/.ci/state}
DYNALITE_VERSION=4.0.0
KINESALITE_VERSION=3.3.3
MOTO_VERSION=5.2.5
BOTO3_VERSION=1.44.8
# boto3 1.44.8 accepts any botocore 1.44.x; pinned to the release kcl-emulator/model/kinesis.json was reduced
# from (57 operations), which the aws-cli suite also hands the CLI (see kcl-emulator/py/awscli_conformance.py).
BOTOCORE_VERSION=1.44.18
# awscli 1.46 carries its own copy of botocore (awscli.botocore), so its pin is independent of boto3's.
AWSCLI_VERSION=1.46.3
AWS_SDK_JS_KINESIS_VERSION=3.1143.0

services_install() {
  mkdir -p "$KCL_STATE_DIR/node" "$KCL_STATE_DIR/logs"
  if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
    echo "== installing nodejs and npm (apt)"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nodejs npm >/dev/null
  fi
  local sdk_js="$KCL_STATE_DIR/node/node_modules/@aws-sdk/client-kinesis/package.json"
  if [ ! -x "$KCL_STATE_DIR/node/node_modules/.bin/dynalite" ] || [ ! -d "$KCL_STATE_DIR/node/node_modules/kinesalite" ] ||
    ! grep -q "\"version\": \"$AWS_SDK_JS_KINESIS_VERSION\"" "$sdk_js" 2>/dev/null; then
    echo "== installing dynalite@$DYNALITE_VERSION, kinesalite@$KINESALITE_VERSION and @aws-sdk/client-kinesis@$AWS_SDK_JS_KINESIS_VERSION (npm)"
    [ -f "$KCL_STATE_DIR/node/package.json" ] || echo '{"private":true}' >"$KCL_STATE_DIR/node/package.json"
    (cd "$KCL_STATE_DIR/node" && npm install --no-audit --no-fund --loglevel=error \
      "dynalite@$DYNALITE_VERSION" "kinesalite@$KINESALITE_VERSION" \
      "@aws-sdk/client-kinesis@$AWS_SDK_JS_KINESIS_VERSION")
  fi
  local py="$KCL_STATE_DIR/venv/bin/python"
  if [ ! -x "$KCL_STATE_DIR/venv/bin/moto_server" ] || [ ! -x "$KCL_STATE_DIR/venv/bin/aws" ] ||
    [ "$("$py" -c 'import boto3, botocore, awscli; print(boto3.__version__, botocore.__version__, awscli.__version__)' 2>/dev/null)" \
      != "$BOTO3_VERSION $BOTOCORE_VERSION $AWSCLI_VERSION" ]; then
    echo "== installing moto[server]==$MOTO_VERSION, boto3==$BOTO3_VERSION, botocore==$BOTOCORE_VERSION and awscli==$AWSCLI_VERSION (pip, in a venv)"
    if ! python3 -m venv "$KCL_STATE_DIR/venv" 2>/dev/null; then
      apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-venv >/dev/null
      python3 -m venv "$KCL_STATE_DIR/venv"
    fi
    "$KCL_STATE_DIR/venv/bin/pip" install -q --disable-pip-version-check \
      "moto[server]==$MOTO_VERSION" "boto3==$BOTO3_VERSION" "botocore==$BOTOCORE_VERSION" "awscli==$AWSCLI_VERSION"
  fi
}

# Prints a free TCP port on 127.0.0.1.
_free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}

# Waits until 127.0.0.1:$1 accepts connections (or fails after ~30 s).
_wait_port() {
  local port=$1 name=$2
  for _ in $(seq 1 300); do
    if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then return 0; fi
    sleep 0.1
  done
  echo "error: $name did not start on 127.0.0.1:$port; its log:" >&2
  cat "$KCL_STATE_DIR/logs/$name.log" >&2 || true
  return 1
}

KCL_SERVICE_PIDS=()

services_start() {
  local p
  p=$(_free_port)
  "$KCL_STATE_DIR/node/node_modules/.bin/dynalite" --host 127.0.0.1 --port "$p" \
    >"$KCL_STATE_DIR/logs/dynalite.log" 2>&1 &
  KCL_SERVICE_PIDS+=($!)
  _wait_port "$p" dynalite
  export KCL_TEST_DYNALITE_URL="http://127.0.0.1:$p"

  p=$(_free_port)
  NODE_PATH="$KCL_STATE_DIR/node/node_modules" node "$KCL_ROOT/scripts/kinesalite.js" "$p" \
    >"$KCL_STATE_DIR/logs/kinesalite.log" 2>&1 &
  KCL_SERVICE_PIDS+=($!)
  _wait_port "$p" kinesalite
  export KCL_TEST_KINESALITE_URL="http://127.0.0.1:$p"

  p=$(_free_port)
  "$KCL_STATE_DIR/venv/bin/moto_server" -H 127.0.0.1 -p "$p" \
    >"$KCL_STATE_DIR/logs/moto.log" 2>&1 &
  KCL_SERVICE_PIDS+=($!)
  _wait_port "$p" moto
  export KCL_TEST_MOTO_URL="http://127.0.0.1:$p"

  export KCL_TEST_PYTHON="$KCL_STATE_DIR/venv/bin/python"
  export KCL_TEST_AWS_CLI="$KCL_STATE_DIR/venv/bin/aws"
  export KCL_TEST_NODE_MODULES="$KCL_STATE_DIR/node/node_modules"
  echo "== services: dynalite $KCL_TEST_DYNALITE_URL, kinesalite $KCL_TEST_KINESALITE_URL, moto $KCL_TEST_MOTO_URL"
}

services_stop() {
  local pid
  for pid in "${KCL_SERVICE_PIDS[@]}"; do
    kill "$pid" 2>/dev/null || true
  done
  for pid in "${KCL_SERVICE_PIDS[@]}"; do
    wait "$pid" 2>/dev/null || true
  done
  KCL_SERVICE_PIDS=()
}
