#!/usr/bin/env bash
# Installs, starts and stops a local Docker engine that uses host networking only: no docker0 bridge, no
# iptables/ip6tables rules, no ip_forward change, so every container must run with `--network host` and all of
# its traffic stays on the host's own addresses (the kcl-rs servers bind 127.0.0.1 only).
#
# Source it, then call `docker_install`, `docker_start` and (from a trap) `docker_stop`; `docker_available`
# returns 0 when the engine answers. Or run it: bash scripts/docker-engine.sh install|start|stop|status
#
# An engine that already answers on the socket is used as it is and never stopped by this script. An engine
# this script starts is recorded in a state file under $KCL_STATE_DIR (default: .ci/state in the checkout,
# git-ignored), so `start` and `stop` may run in different processes; its log goes to a fresh temp dir.
#
# Environment (all optional):
#   KCL_DOCKER_SOCK        socket to use / to serve (default: the unix:// path of $DOCKER_HOST, else
#                          /var/run/docker.sock); DOCKER_HOST is exported as unix://$KCL_DOCKER_SOCK
#   KCL_DOCKER_DATA_ROOT   --data-root of an engine we start (default /var/lib/docker)
#   KCL_DOCKER_EXEC_ROOT   --exec-root of an engine we start (default /var/run/docker)
#   KCL_DOCKER_START_TIMEOUT  seconds to wait for it to answer (default 60)
#   KCL_DOCKER_STOP_TIMEOUT   seconds to wait for it to exit (default 60)

KCL_ROOT=${KCL_ROOT:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}
KCL_STATE_DIR=${KCL_STATE_DIR:-$KCL_ROOT/.ci/state}
if [ -z "${KCL_DOCKER_SOCK:-}" ]; then
  case "${DOCKER_HOST:-}" in
    unix://*) KCL_DOCKER_SOCK=${DOCKER_HOST#unix://} ;;
    *) KCL_DOCKER_SOCK=/var/run/docker.sock ;;
  esac
fi
export DOCKER_HOST="unix://$KCL_DOCKER_SOCK"
KCL_DOCKER_DATA_ROOT=${KCL_DOCKER_DATA_ROOT:-/var/lib/docker}
KCL_DOCKER_EXEC_ROOT=${KCL_DOCKER_EXEC_ROOT:-/var/run/docker}
KCL_DOCKER_START_TIMEOUT=${KCL_DOCKER_START_TIMEOUT:-60}
KCL_DOCKER_STOP_TIMEOUT=${KCL_DOCKER_STOP_TIMEOUT:-60}
# One state file per socket, so engines on different sockets do not mix.
KCL_DOCKER_STATE_FILE=${KCL_DOCKER_STATE_FILE:-$KCL_STATE_DIR/docker-engine$(printf '%s' "$KCL_DOCKER_SOCK" | tr -c 'A-Za-z0-9._-' '_').state}
# The dockerd (20.10) options that keep the engine off the host's network configuration. Beware: with
# --bridge=none, dockerd deletes an existing `docker0` interface at startup (moby's removeDefaultBridgeInterface),
# even one that another engine on the host created.
KCL_DOCKERD_NET_OPTS=(--bridge=none --iptables=false --ip6tables=false --ip-forward=false --ip-masq=false
  --userland-proxy=false)
# 1 once docker_start has started an engine (in this process or, per the state file, in an earlier one).
KCL_DOCKER_STARTED=0

# Returns 0 when the engine on $DOCKER_HOST answers.
docker_available() {
  command -v docker >/dev/null 2>&1 && timeout 15 docker info >/dev/null 2>&1
}

# Installs Debian's docker.io (dockerd, containerd, runc and the docker client) unless dockerd is present.
# The package's init/systemd unit is kept from starting a default-networked engine during the install.
docker_install() {
  if command -v dockerd >/dev/null 2>&1 && command -v docker >/dev/null 2>&1; then
    return 0
  fi
  echo "== installing docker.io (apt)"
  local policy=/usr/sbin/policy-rc.d ours=0 rc=0
  if [ ! -e "$policy" ]; then
    printf '#!/bin/sh\n# written by kcl-rs scripts/docker-engine.sh during apt-get install docker.io\nexit 101\n' >"$policy"
    chmod 0755 "$policy"
    ours=1
  fi
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
    -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold docker.io >/dev/null || rc=$?
  [ "$ours" = 1 ] && rm -f "$policy"
  if [ "$rc" != 0 ] || ! command -v dockerd >/dev/null 2>&1; then
    echo "error: apt-get install docker.io failed (exit $rc)" >&2
    return 1
  fi
}

# True when process $1 exists and is not a zombie.
_docker_pid_alive() {
  local state
  [ -n "$1" ] && [ -r "/proc/$1/stat" ] || return 1
  state=$(sed 's/^.*) //' "/proc/$1/stat" 2>/dev/null | cut -d' ' -f1)
  [ -n "$state" ] && [ "$state" != Z ]
}

# True when process $1 is a running program named $2 whose command line contains $3 (guards against pid reuse).
_docker_pid_is() {
  local pid=$1 name=$2 marker=$3 exe
  _docker_pid_alive "$pid" || return 1
  exe=$(readlink "/proc/$pid/exe" 2>/dev/null) || return 1
  [ "$(basename "${exe% (deleted)}")" = "$name" ] || return 1
  [ -z "$marker" ] || tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -qF -- "$marker"
}

# Waits up to $2 seconds for process $1 to exit; returns 1 if it is still alive.
_docker_wait_exit() {
  local pid=$1 secs=$2 i
  for ((i = 0; i < secs * 10; i++)); do
    _docker_pid_alive "$pid" || { wait "$pid" 2>/dev/null || true; return 0; }
    sleep 0.1
  done
  return 1
}

# Loads the state file (if any) into KCL_DOCKERD_PID, KCL_CONTAINERD_PID, KCL_DOCKER_TMP, KCL_DOCKER_PIDFILE.
_docker_load_state() {
  KCL_DOCKERD_PID='' KCL_CONTAINERD_PID='' KCL_DOCKER_TMP='' KCL_DOCKER_PIDFILE=''
  [ -f "$KCL_DOCKER_STATE_FILE" ] || return 1
  # shellcheck disable=SC1090
  source "$KCL_DOCKER_STATE_FILE"
}

# Tail of our engine's log, for error messages.
_docker_log_tail() {
  if [ -n "${KCL_DOCKER_TMP:-}" ] && [ -f "$KCL_DOCKER_TMP/dockerd.log" ]; then
    echo "---- last lines of $KCL_DOCKER_TMP/dockerd.log:" >&2
    tail -n 40 "$KCL_DOCKER_TMP/dockerd.log" >&2
    echo "----" >&2
  fi
}

# Starts dockerd (host networking only) unless an engine already answers on $DOCKER_HOST.
docker_start() {
  if docker_available; then
    if _docker_load_state && _docker_pid_is "$KCL_DOCKERD_PID" dockerd "$KCL_DOCKER_PIDFILE"; then
      KCL_DOCKER_STARTED=1
      echo "== docker engine already running on $DOCKER_HOST (started by this script, pid $KCL_DOCKERD_PID)"
    else
      KCL_DOCKER_STARTED=0
      rm -f "$KCL_DOCKER_STATE_FILE"
      echo "== docker engine already running on $DOCKER_HOST (not started by this script; it will be left running)"
    fi
    return 0
  fi
  if ! command -v dockerd >/dev/null 2>&1; then
    echo "error: dockerd is not installed (call docker_install, or: bash scripts/docker-engine.sh install)" >&2
    return 1
  fi
  if [ "$(id -u)" != 0 ]; then
    echo "error: dockerd must be started as root (or start an engine yourself and point DOCKER_HOST at it)" >&2
    return 1
  fi
  if _docker_load_state && _docker_pid_is "$KCL_DOCKERD_PID" dockerd "$KCL_DOCKER_PIDFILE"; then
    echo "error: the dockerd this script started (pid $KCL_DOCKERD_PID) is running but does not answer on $DOCKER_HOST" >&2
    _docker_log_tail
    return 1
  fi
  rm -f "$KCL_DOCKER_STATE_FILE"
  if [ -S "$KCL_DOCKER_SOCK" ]; then
    # A socket nobody answers on (a crashed engine); dockerd refuses to start over some stale files.
    echo "== removing the stale socket $KCL_DOCKER_SOCK"
    rm -f "$KCL_DOCKER_SOCK"
  fi

  if [ -e /sys/class/net/docker0 ]; then
    echo "warning: a docker0 interface exists (another engine?); dockerd --bridge=none deletes it at startup" >&2
  fi
  mkdir -p "$KCL_STATE_DIR" "$(dirname "$KCL_DOCKER_SOCK")" "$KCL_DOCKER_DATA_ROOT" "$KCL_DOCKER_EXEC_ROOT"
  KCL_DOCKER_TMP=$(mktemp -d "${TMPDIR:-/tmp}/kcl-dockerd.XXXXXX")
  KCL_DOCKER_PIDFILE=$KCL_DOCKER_TMP/dockerd.pid
  echo "== starting dockerd on $DOCKER_HOST (host networking only; log: $KCL_DOCKER_TMP/dockerd.log)"
  dockerd --host "$DOCKER_HOST" --pidfile "$KCL_DOCKER_PIDFILE" \
    --data-root "$KCL_DOCKER_DATA_ROOT" --exec-root "$KCL_DOCKER_EXEC_ROOT" \
    "${KCL_DOCKERD_NET_OPTS[@]}" --log-level=info \
    </dev/null >"$KCL_DOCKER_TMP/dockerd.log" 2>&1 &
  KCL_DOCKERD_PID=$!
  KCL_CONTAINERD_PID=''
  _docker_write_state

  local i
  for ((i = 0; i < KCL_DOCKER_START_TIMEOUT * 2; i++)); do
    if ! _docker_pid_alive "$KCL_DOCKERD_PID"; then
      local status=0
      wait "$KCL_DOCKERD_PID" 2>/dev/null || status=$?
      echo "error: dockerd exited during startup (exit status $status)" >&2
      _docker_log_tail
      rm -f "$KCL_DOCKER_STATE_FILE"
      return 1
    fi
    if docker_available; then
      # dockerd runs its own containerd (a child process) unless a system containerd already serves
      # /run/containerd/containerd.sock; only a child of ours is ours to stop.
      KCL_CONTAINERD_PID=$(pgrep -P "$KCL_DOCKERD_PID" -x containerd | head -n 1 || true)
      _docker_write_state
      KCL_DOCKER_STARTED=1
      echo "== docker engine ready: dockerd pid $KCL_DOCKERD_PID, containerd pid ${KCL_CONTAINERD_PID:-(system)}," \
        "server $(docker version --format '{{.Server.Version}}' 2>/dev/null)"
      return 0
    fi
    sleep 0.5
  done
  echo "error: dockerd did not answer on $DOCKER_HOST within ${KCL_DOCKER_START_TIMEOUT}s; stopping it" >&2
  _docker_log_tail
  docker_stop >/dev/null 2>&1 || true
  return 1
}

_docker_write_state() {
  {
    printf 'KCL_DOCKERD_PID=%q\n' "$KCL_DOCKERD_PID"
    printf 'KCL_CONTAINERD_PID=%q\n' "$KCL_CONTAINERD_PID"
    printf 'KCL_DOCKER_TMP=%q\n' "$KCL_DOCKER_TMP"
    printf 'KCL_DOCKER_PIDFILE=%q\n' "$KCL_DOCKER_PIDFILE"
  } >"$KCL_DOCKER_STATE_FILE"
}

# Stops the dockerd this script started (and the containerd it ran) and waits for both to exit. An engine the
# script did not start is left alone.
docker_stop() {
  if ! _docker_load_state; then
    echo "== docker engine on $DOCKER_HOST was not started by this script; leaving it alone"
    return 0
  fi
  local rc=0
  if _docker_pid_is "$KCL_DOCKERD_PID" dockerd "$KCL_DOCKER_PIDFILE"; then
    echo "== stopping dockerd (pid $KCL_DOCKERD_PID)"
    kill -TERM "$KCL_DOCKERD_PID" 2>/dev/null || true
    if ! _docker_wait_exit "$KCL_DOCKERD_PID" "$KCL_DOCKER_STOP_TIMEOUT"; then
      echo "warning: dockerd (pid $KCL_DOCKERD_PID) did not exit within ${KCL_DOCKER_STOP_TIMEOUT}s; killing it" >&2
      _docker_log_tail
      kill -KILL "$KCL_DOCKERD_PID" 2>/dev/null || true
      _docker_wait_exit "$KCL_DOCKERD_PID" 10 || rc=1
    fi
  fi
  # dockerd stops its containerd on a clean shutdown; make sure it did.
  if [ -n "$KCL_CONTAINERD_PID" ] && _docker_pid_is "$KCL_CONTAINERD_PID" containerd "$KCL_DOCKER_EXEC_ROOT"; then
    if ! _docker_wait_exit "$KCL_CONTAINERD_PID" 15; then
      echo "warning: containerd (pid $KCL_CONTAINERD_PID) outlived dockerd; stopping it" >&2
      kill -TERM "$KCL_CONTAINERD_PID" 2>/dev/null || true
      if ! _docker_wait_exit "$KCL_CONTAINERD_PID" 15; then
        kill -KILL "$KCL_CONTAINERD_PID" 2>/dev/null || true
        _docker_wait_exit "$KCL_CONTAINERD_PID" 10 || rc=1
      fi
    fi
  fi
  if [ "$rc" = 0 ]; then
    # dockerd leaves the host-network sandbox's namespace bind-mounted in its exec-root after a
    # `--network host` container; drop such mounts of our engine so the directories can be removed.
    local m
    while read -r m; do
      umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null || true
    done < <(awk -v d="${KCL_DOCKER_EXEC_ROOT%/}/netns/" 'index($2, d) == 1 { print $2 }' /proc/mounts 2>/dev/null)
    echo "== docker engine stopped"
    rm -f "$KCL_DOCKER_STATE_FILE"
    [ -n "$KCL_DOCKER_TMP" ] && rm -rf "$KCL_DOCKER_TMP"
  else
    echo "error: could not stop the docker engine (state kept in $KCL_DOCKER_STATE_FILE)" >&2
  fi
  KCL_DOCKER_STARTED=0
  return "$rc"
}

# Prints whether the engine answers and who started it; returns 0 when it answers.
docker_status() {
  local ours=0
  if _docker_load_state && _docker_pid_is "$KCL_DOCKERD_PID" dockerd "$KCL_DOCKER_PIDFILE"; then ours=1; fi
  if docker_available; then
    if [ "$ours" = 1 ]; then
      echo "running on $DOCKER_HOST: started by this script (dockerd pid $KCL_DOCKERD_PID," \
        "containerd pid ${KCL_CONTAINERD_PID:-(system)}, log $KCL_DOCKER_TMP/dockerd.log)"
    else
      echo "running on $DOCKER_HOST: not started by this script"
    fi
    return 0
  fi
  if [ "$ours" = 1 ]; then
    echo "not answering on $DOCKER_HOST, but the dockerd this script started (pid $KCL_DOCKERD_PID) is alive"
  else
    echo "not running on $DOCKER_HOST"
  fi
  return 1
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
  set -euo pipefail
  case "${1:-}" in
    install) docker_install ;;
    start) docker_install && docker_start ;;
    stop) docker_stop ;;
    status) docker_status ;;
    *)
      echo "usage: bash $0 install|start|stop|status" >&2
      exit 2
      ;;
  esac
fi
