#!/usr/bin/env bash
# Sends one CloudFormation event to the function running under `make watch`
# (scripts/watch.sh) and prints the answer the function PUT to the event's
# ResponseURL, as the response receiver got it:
#   1. makes the receiver forget earlier answers (so that sending the same
#      event twice prints the newer answer);
#   2. `cargo lambda invoke --data-file EVENT` on the watch's invoke port
#      (INVOKE_PORT=... to change); the function's return value (null) is not
#      shown, only failures of the invocation itself;
#   3. `standins answer EVENT`: waits (60 s at most) for the answer to the
#      event's RequestId; HTTP status and path on stderr, the body (Status,
#      Reason, PhysicalResourceId, Data...) pretty-printed on stdout.
# Exit status: 0 when an answer arrived (whatever its Status), 1 otherwise.
# Usage (from anywhere): scripts/invoke.sh EVENT.json   (make invoke EVENT=...)
set -euo pipefail

SCRIPT_NAME=invoke
if (($# != 1)); then
  echo "usage: $0 EVENT.json" >&2
  exit 2
fi
[[ -f "$1" ]] || { echo "invoke: no such file: $1" >&2; exit 2; }
event="$(cd "$(dirname "$1")" && pwd)/$(basename "$1")"
# shellcheck source=scripts/local-common.sh
source "$(dirname "${BASH_SOURCE[0]}")/local-common.sh"

[[ -x "${STANDINS}" ]] || { echo "invoke: ${STANDINS} is not built: start 'make watch' first" >&2; exit 1; }
load_addrs
if ! listening "${ADDR[invoke]}"; then
  echo "invoke: nothing listens on ${ADDR[invoke]}: start 'make watch' (scripts/watch.sh) first" >&2
  exit 1
fi
"${STANDINS}" clear-answers || exit 1
set_invoke_cmd "${event}"
if [[ "${PROVIDER_FRAMEWORK:-}" == cdk ]]; then
  # Provider mode: the function's return value (or its error) is the answer
  # CDK's framework reads; it PUTs nothing.
  "${INVOKE_CMD[@]}"
  exit
fi
"${INVOKE_CMD[@]}" >/dev/null
exec "${STANDINS}" answer "${event}"
