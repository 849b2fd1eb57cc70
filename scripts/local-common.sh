# shellcheck shell=bash
# Shared by scripts/watch.sh, scripts/invoke.sh and scripts/cargo-lambda-smoke.sh
# (sourced, not run). The local run's facts (addresses, the function's
# environment, the lifecycle of events/) are written once, in
# standins/src/local.rs, and read here from the `standins` binary.
# INVOKE_PORT=... moves cargo lambda watch's invoke port.

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CARGO_LAMBDA="${ROOT}/.venv/bin/cargo-lambda"
TARGET_DIR="${CARGO_TARGET_DIR:-${ROOT}/target}"
case "${TARGET_DIR}" in /*) ;; *) TARGET_DIR="${ROOT}/${TARGET_DIR}" ;; esac
STANDINS="${TARGET_DIR}/debug/standins"
FUNCTION_BIN=sagemaker-image-version

# Debug builds of the function and the stand-ins, with cargo's progress. The
# whole workspace resolves one dependency graph (standins/Cargo.toml says
# why), the one `cargo test --workspace` builds: after the tests, nothing.
build_binaries() { (cd "${ROOT}" && cargo build --workspace --bins); }

# load_addrs: ADDR[sagemaker|receiver|invoke] (HOST:PORT) and INVOKE_PORT.
declare -gA ADDR=()
load_addrs() {
  local name addr
  while read -r name addr; do ADDR["${name}"]="${addr}"; done < <("${STANDINS}" addrs)
  INVOKE_PORT="${INVOKE_PORT:-${ADDR[invoke]##*:}}"
  ADDR[invoke]="127.0.0.1:${INVOKE_PORT}"
}

# listening HOST:PORT: true when something accepts connections there.
listening() { (exec 3<>"/dev/tcp/${1%:*}/${1##*:}") 2>/dev/null; }

# require_free_ports: exits with a clear message when a local address is taken.
require_free_ports() {
  local name busy=0
  for name in sagemaker receiver lambda sfn invoke; do
    if listening "${ADDR[${name}]}"; then
      echo "${SCRIPT_NAME}: ${ADDR[${name}]} (${name}) is already in use." >&2
      busy=1
    fi
  done
  if ((busy)); then
    echo "${SCRIPT_NAME}: stop whatever listens there (another 'make watch' or 'make demo'? see: ss -ltnp) and retry." >&2
    exit 1
  fi
}

# wait_listening HOST:PORT SECONDS PID: until HOST:PORT accepts connections;
# fails early when process PID has exited.
wait_listening() {
  local i
  for ((i = 0; i < $2 * 10; i++)); do
    listening "$1" && return 0
    kill -0 "$3" 2>/dev/null || return 1
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

# start_standins LOG [ARGS...]: a fresh `standins serve` (SageMaker stand-in
# with the demo image, response receiver) in the background; returns once it
# listens.
start_standins() {
  local log="$1"; shift
  start_group "${log}" "${STANDINS}" serve "$@"
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

# set_watch_cmd: WATCH_CMD, the cargo lambda watch command line of watch.sh
# and the smoke test, with the function's environment from `standins env`.
set_watch_cmd() {
  local env_file="${TARGET_DIR}/local/function.env"
  mkdir -p "${TARGET_DIR}/local"
  "${STANDINS}" env >"${env_file}"
  # Provider mode for `make watch PROVIDER_FRAMEWORK=cdk`.
  [[ -z "${PROVIDER_FRAMEWORK:-}" ]] || echo "PROVIDER_FRAMEWORK=${PROVIDER_FRAMEWORK}" >>"${env_file}"
  WATCH_CMD=("${CARGO_LAMBDA}" lambda watch --invoke-address 127.0.0.1 --invoke-port "${INVOKE_PORT}"
    --env-file "${env_file}" --package "${FUNCTION_BIN}" --bin "${FUNCTION_BIN}")
}

# set_invoke_cmd EVENT.json [FUNCTION]: INVOKE_CMD, which sends the event to
# cargo lambda watch (FUNCTION "_" for a watch with --only-lambda-apis).
set_invoke_cmd() {
  INVOKE_CMD=("${CARGO_LAMBDA}" lambda invoke --invoke-address 127.0.0.1 --invoke-port "${INVOKE_PORT}"
    --data-file "$1" "${2:-${FUNCTION_BIN}}")
  if [[ "${HANDOFF:-0}" == 1 ]]; then
    # The stand-ins' Lambda wants a signed request, as Lambda does: cargo
    # lambda signs it with the local credentials when told it is remote.
    local env
    mapfile -t env < <("${STANDINS}" env)
    INVOKE_CMD=(env "${env[@]}" "${CARGO_LAMBDA}" lambda invoke --remote
      --endpoint-url "http://${ADDR[invoke]}" --data-file "$1" "${FUNCTION_BIN}")
  fi
}

# start_function LOG: the debug build of the function, under the Runtime API
# of a `cargo lambda watch --only-lambda-apis`, with its local environment.
start_function() {
  local env
  mapfile -t env < <("${STANDINS}" env)
  start_group "$1" env "${env[@]}" AWS_LAMBDA_FUNCTION_NAME=_ AWS_LAMBDA_FUNCTION_VERSION=1 \
    AWS_LAMBDA_FUNCTION_MEMORY_SIZE=128 "AWS_LAMBDA_RUNTIME_API=http://${ADDR[invoke]}/.rt" \
    "${TARGET_DIR}/debug/${FUNCTION_BIN}"
}
