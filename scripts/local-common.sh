# shellcheck shell=bash
# Shared by scripts/watch.sh, scripts/invoke.sh and scripts/cargo-lambda-smoke.sh
# (sourced, not run): the fixed local addresses, the function's environment
# for local runs, and helpers to start, wait for and stop background
# processes.
#
# Addresses (the events in events/ name the receiver on 127.0.0.1:9002):
#   127.0.0.1:9001  SageMaker stand-in      (standins serve --sagemaker)
#   127.0.0.1:9002  response receiver       (standins serve --receiver)
#   127.0.0.1:9010  cargo lambda watch      (invoke port; INVOKE_PORT=... to change)
# Port 9000, cargo lambda's default, is left alone.

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${ROOT}/.venv"
CARGO_LAMBDA="${VENV}/bin/cargo-lambda"
TARGET_DIR="${CARGO_TARGET_DIR:-${ROOT}/target}"
case "${TARGET_DIR}" in /*) ;; *) TARGET_DIR="${ROOT}/${TARGET_DIR}" ;; esac

FUNCTION_BIN=sagemaker-image-version
SAGEMAKER_PORT=9001
RECEIVER_PORT=9002
INVOKE_PORT="${INVOKE_PORT:-9010}"
SAGEMAKER_URL="http://127.0.0.1:${SAGEMAKER_PORT}"
# shellcheck disable=SC2034 # used by the scripts that source this file
RECEIVER_URL="http://127.0.0.1:${RECEIVER_PORT}"

# The function's environment for local runs: the SDK talks to the stand-in
# with dummy credentials, and the loopback ResponseURLs of events/ are allowed.
FUNCTION_ENV=(
  "AWS_ENDPOINT_URL_SAGEMAKER=${SAGEMAKER_URL}"
  "AWS_REGION=us-east-1"
  "AWS_ACCESS_KEY_ID=AKIDLOCAL"
  "AWS_SECRET_ACCESS_KEY=local-secret"
  "AWS_EC2_METADATA_DISABLED=true"
  "CFN_ALLOW_LOOPBACK_RESPONSE_URL=true"
  "RUST_LOG=${RUST_LOG:-info}"
)

# set_watch_cmd: WATCH_CMD, the cargo lambda watch command line shared by
# watch.sh and the smoke test (which adds --ignore-changes).
set_watch_cmd() {
  WATCH_CMD=("${CARGO_LAMBDA}" lambda watch
    --invoke-address 127.0.0.1 --invoke-port "${INVOKE_PORT}"
    --package "${FUNCTION_BIN}")
  local kv
  for kv in "${FUNCTION_ENV[@]}"; do
    WATCH_CMD+=(--env-var "${kv}")
  done
}

# port_free PORT: true when 127.0.0.1:PORT can be bound (as the stand-ins and
# cargo lambda would bind it).
port_free() {
  python3 - "$1" <<'PY'
import socket, sys
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
try:
    s.bind(("127.0.0.1", int(sys.argv[1])))
except OSError:
    sys.exit(1)
finally:
    s.close()
PY
}

# require_free_ports NAME:PORT...: exits with a clear message when any is taken.
require_free_ports() {
  local spec busy=0
  for spec in "$@"; do
    if ! port_free "${spec#*:}"; then
      echo "${SCRIPT_NAME}: port 127.0.0.1:${spec#*:} (${spec%%:*}) is already in use." >&2
      busy=1
    fi
  done
  if ((busy)); then
    echo "${SCRIPT_NAME}: stop whatever listens there (another 'make watch' or 'make demo'? see: ss -ltnp) and retry." >&2
    exit 1
  fi
}

# wait_port PORT SECONDS PID: waits until 127.0.0.1:PORT accepts connections;
# fails early when process PID has exited.
wait_port() {
  local port="$1" secs="$2" pid="$3" i
  for ((i = 0; i < secs * 10; i++)); do
    if python3 -c 'import socket,sys; socket.create_connection(("127.0.0.1", int(sys.argv[1])), 0.5).close()' "${port}" 2>/dev/null; then
      return 0
    fi
    kill -0 "${pid}" 2>/dev/null || return 1
    sleep 0.1
  done
  return 1
}

# Background processes started with start_group, each in its own session
# (process group), so that stop_groups ends it with all of its children
# (cargo lambda -> cargo run -> the function).
BG_PIDS=()
start_group() {
  local log="$1"; shift
  setsid "$@" >"${log}" 2>&1 </dev/null &
  BG_PIDS+=("$!")
  LAST_PID=$!
}
stop_groups() {
  local pid i
  for pid in "${BG_PIDS[@]}"; do
    kill -TERM -- "-${pid}" 2>/dev/null || true
  done
  for pid in "${BG_PIDS[@]}"; do
    for ((i = 0; i < 50; i++)); do
      kill -0 -- "-${pid}" 2>/dev/null || break
      sleep 0.1
    done
    kill -KILL -- "-${pid}" 2>/dev/null || true
    wait "${pid}" 2>/dev/null || true
  done
  BG_PIDS=()
}

# build_binaries: debug builds of the stand-ins and of the function (so that a
# compile error shows here, and cargo lambda watch starts the function at once).
build_binaries() {
  (cd "${ROOT}" && cargo build --quiet -p standins --bin standins \
    && cargo build --quiet -p "${FUNCTION_BIN}" --bin "${FUNCTION_BIN}")
}

# start_standins LOG [DELAY ARGS...]: a fresh SageMaker stand-in (image
# demo-image registered) and response receiver on 9001/9002, in the background;
# returns once both listen.
start_standins() {
  local log="$1"; shift
  start_group "${log}" "${TARGET_DIR}/debug/standins" serve \
    --sagemaker "127.0.0.1:${SAGEMAKER_PORT}" --receiver "127.0.0.1:${RECEIVER_PORT}" \
    --image demo-image "$@"
  local pid="${LAST_PID}" i
  for ((i = 0; i < 100; i++)); do
    grep -q '^sagemaker=' "${log}" 2>/dev/null && return 0
    kill -0 "${pid}" 2>/dev/null || break
    sleep 0.1
  done
  echo "${SCRIPT_NAME}: the stand-ins did not start:" >&2
  cat "${log}" >&2
  return 1
}
