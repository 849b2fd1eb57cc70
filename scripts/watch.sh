#!/usr/bin/env bash
# Runs the function under `cargo lambda watch`, wired to the local stand-ins
# (`make watch`):
#   1. builds the stand-ins and the function (debug),
#   2. starts `standins serve` in the background: a fresh SageMaker stand-in
#      (image demo-image exists; version creation takes CREATE_DELAY_MS,
#      default 2000 ms, deletion DELETE_DELAY_MS, default 1000 ms) and the
#      response receiver, which stands in for CloudFormation's pre-signed S3
#      ResponseURL; its output goes to target/local/standins.log;
#   3. runs `cargo lambda watch` in the foreground (INVOKE_PORT=... to change
#      its invoke port) with the function's local environment (`standins env`:
#      SageMaker endpoint = the stand-in, dummy credentials, loopback
#      ResponseURLs allowed, RUST_LOG, default info). The function is started
#      on the first invocation and rebuilt and restarted when its sources
#      change.
# The addresses: `target/debug/standins addrs`. Send events from another
# terminal with `make invoke EVENT=events/create.json` (scripts/invoke.sh);
# the events of events/ expect a fresh stand-in, so restart this script to
# replay them from the start (in order: `target/debug/standins events`).
# Ctrl-C stops both processes.
# HANDOFF=1 runs the function under the stand-ins' own Lambda Invoke API
# instead (cargo lambda watch cannot take the asynchronous invoke a hand-off
# makes), with a 10 s timeout and 25 s builds: `make invoke HANDOFF=1` then
# shows a Create answered after two hand-offs. PROVIDER_FRAMEWORK=cdk runs it as CDK's
# Provider framework handler: `make invoke` prints what it returns.
# Usage (from anywhere): scripts/watch.sh
set -euo pipefail

SCRIPT_NAME=watch
# shellcheck source=scripts/local-common.sh
source "$(dirname "${BASH_SOURCE[0]}")/local-common.sh"
cd "${ROOT}"
"${ROOT}/scripts/python-tools.sh"

build_binaries
load_addrs
require_free_ports

if [[ "${HANDOFF:-0}" == 1 ]]; then
  # cargo lambda watch cannot take an asynchronous (Event) invoke: it answers
  # only once the function returns, and the function is busy handing off. The
  # stand-ins' own Lambda Invoke API can, with real deadlines: the function
  # runs under it with a short timeout, and builds outlast it.
  echo "watch: HANDOFF=1: the function under the stand-ins' Lambda on ${ADDR[invoke]} (timeout ${FUNCTION_TIMEOUT_MS:-10000} ms, builds ${CREATE_DELAY_MS:-25000} ms)"
  "${STANDINS}" serve --lambda "${ADDR[invoke]}" --function "${TARGET_DIR}/debug/${FUNCTION_BIN}" \
    --function-timeout-ms "${FUNCTION_TIMEOUT_MS:-10000}" \
    --create-delay-ms "${CREATE_DELAY_MS:-25000}" --delete-delay-ms "${DELETE_DELAY_MS:-1000}"
  exit
fi
mkdir -p "${TARGET_DIR}/local"
trap stop_groups EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
start_standins "${TARGET_DIR}/local/standins.log" \
  --create-delay-ms "${CREATE_DELAY_MS:-2000}" --delete-delay-ms "${DELETE_DELAY_MS:-1000}"
echo "watch: SageMaker stand-in ${ADDR[sagemaker]}, receiver ${ADDR[receiver]} (log: ${TARGET_DIR}/local/standins.log)"
echo "watch: cargo lambda watch on ${ADDR[invoke]}; send events with: make invoke EVENT=events/create.json"

set_watch_cmd
# Not exec: the EXIT trap must stop the stand-ins when watch ends.
"${WATCH_CMD[@]}"
