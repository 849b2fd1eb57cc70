#!/usr/bin/env bash
# Smoke test of the function under `cargo lambda watch` (run by `make test`):
#   1. builds the stand-ins and the function (debug) and checks that the local
#      addresses (`standins addrs`) are free;
#   2. starts a fresh `standins serve` (short create/delete delays),
#      `cargo lambda watch --only-lambda-apis` and the function's debug build
#      under it with its local environment (`standins env`), in the
#      background;
#   3. sends the events of events/ in lifecycle order (`standins events`,
#      which fails when an event file is left out of the lifecycle) with
#      `cargo lambda invoke`, and checks each answer the receiver got against
#      the lifecycle's expectation (`standins answer --check`);
#   4. checks that the versions the lifecycle created are gone and that the
#      function called only SageMaker actions template.yaml grants
#      (`standins end-state`).
# The lifecycle and its expectations: standins/src/local.rs. All background
# processes are stopped on any exit. On failure, the tails of the watch,
# function and stand-in logs are printed; the full logs stay in target/local/smoke/.
# Usage (from anywhere): scripts/cargo-lambda-smoke.sh
set -euo pipefail

SCRIPT_NAME=cargo-lambda-smoke
# shellcheck source=scripts/local-common.sh
source "$(dirname "${BASH_SOURCE[0]}")/local-common.sh"
cd "${ROOT}"
"${ROOT}/scripts/python-tools.sh"
start=${SECONDS}

LOGS="${TARGET_DIR}/local/smoke"
mkdir -p "${LOGS}"
rm -f "${LOGS}"/*.log
WATCH_LOG="${LOGS}/watch.log"
FUNCTION_LOG="${LOGS}/function.log"
STANDINS_LOG="${LOGS}/standins.log"

fail() {
  echo "${SCRIPT_NAME}: FAILED: $*" >&2
  exit 1
}
on_exit() {
  local rc=$? f
  stop_groups
  if ((rc != 0)); then
    for f in "${WATCH_LOG}" "${FUNCTION_LOG}" "${STANDINS_LOG}"; do
      [[ -s "${f}" ]] || continue
      echo "---- last 40 lines of ${f} ----" >&2
      tail -n 40 "${f}" >&2
    done
    echo "${SCRIPT_NAME}: FAILED (exit ${rc}) after $((SECONDS - start)) s" >&2
  fi
  exit "${rc}"
}
trap on_exit EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

build_binaries || fail "cargo build of the function and the stand-ins"
events="$("${STANDINS}" events)" || fail "events/ and the lifecycle of standins/src/local.rs differ"
mapfile -t EVENTS <<<"${events}"
load_addrs
require_free_ports

start_standins "${STANDINS_LOG}" --create-delay-ms 300 --delete-delay-ms 200 || fail "standins serve"
# cargo lambda's Runtime API and Invoke API, serving the binary the workspace
# build made: `cargo run` under watch would resolve the function's
# dependencies alone and build them all a second time.
set_watch_cmd
start_group "${WATCH_LOG}" "${WATCH_CMD[@]}" --only-lambda-apis
watch_pid="${LAST_PID}"
wait_listening "${ADDR[invoke]}" 120 "${watch_pid}" \
  || fail "cargo lambda watch did not listen on ${ADDR[invoke]} within 120 s"
start_function "${FUNCTION_LOG}"
echo "${SCRIPT_NAME}: stand-ins and cargo lambda watch up after $((SECONDS - start)) s"

for event in "${EVENTS[@]}"; do
  name="$(basename "${event}" .json)"
  t0=${SECONDS}
  kill -0 "${watch_pid}" 2>/dev/null || fail "cargo lambda watch exited before ${event}"
  set_invoke_cmd "${event}" _
  timeout 180 "${INVOKE_CMD[@]}" >"${LOGS}/${name}.invoke.log" 2>&1 || { cat "${LOGS}/${name}.invoke.log" >&2; fail "cargo lambda invoke ${event}"; }
  answer="$("${STANDINS}" answer --check "${event}" 2>"${LOGS}/${name}.answer.log")" \
    || { cat "${LOGS}/${name}.answer.log" >&2; fail "${event}: wrong or missing answer"; }
  printf '%s: %-32s %s (%d s)\n' "${SCRIPT_NAME}" "${event}" "${answer}" $((SECONDS - t0))
done

"${STANDINS}" end-state | sed "s/^/${SCRIPT_NAME}: /" || fail "end state or SageMaker calls"
echo "${SCRIPT_NAME}: OK: ${#EVENTS[@]} events, the versions created are deleted, $((SECONDS - start)) s"
