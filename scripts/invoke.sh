#!/usr/bin/env bash
# Sends one CloudFormation event to the function running under
# `make watch` (scripts/watch.sh) and prints the answer the function PUT to
# the event's ResponseURL, as the response receiver (127.0.0.1:9002) got it:
#   1. `cargo lambda invoke --data-file EVENT` on the watch's invoke port
#      (127.0.0.1:9010, INVOKE_PORT=... to change); the function's return
#      value (null) is not shown, only failures of the invocation itself;
#   2. the receiver's record of the PUT for the event's RequestId
#      (GET /_receiver/wait, 60 s at most): HTTP status and path on stderr,
#      the response body (Status, Reason, PhysicalResourceId, Data...)
#      pretty-printed on stdout.
# Sending the same event twice prints the newer answer.
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

request_id="$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["RequestId"])' "${event}" 2>/dev/null)" || {
  echo "invoke: $1 is not a CloudFormation event with a RequestId" >&2
  exit 2
}

if port_free "${INVOKE_PORT}"; then
  echo "invoke: nothing listens on 127.0.0.1:${INVOKE_PORT}: start 'make watch' (scripts/watch.sh) first" >&2
  exit 1
fi

# receiver MODE: count (accepted answers so far for the RequestId) or
# answer SEEN (print the answer after the SEEN first ones).
receiver() {
  python3 - "${RECEIVER_URL}" "${request_id}" "$@" <<'PY'
import json, sys, time, urllib.error, urllib.parse, urllib.request

base, rid, mode = sys.argv[1], sys.argv[2], sys.argv[3]

def get(path):
    with urllib.request.urlopen(base + path, timeout=70) as r:
        return json.load(r)

def mine():
    return [p for p in get("/_receiver/puts")
            if p["Status"] == 200 and urllib.parse.unquote(p["Path"]).endswith(rid)]

if mode == "count":
    print(len(mine()))
    sys.exit(0)

seen, put = int(sys.argv[4]), None
if seen == 0:
    try:
        put = get(f"/_receiver/wait?request_id={urllib.parse.quote(rid)}&timeout_ms=60000")
    except urllib.error.HTTPError as e:
        if e.code != 404:
            raise
else:
    deadline = time.monotonic() + 60
    while put is None and time.monotonic() < deadline:
        answers = mine()
        if len(answers) > seen:
            put = answers[seen]
        else:
            time.sleep(0.2)
if put is None:
    print(f"invoke: no answer reached the receiver for RequestId {rid} within 60 s", file=sys.stderr)
    sys.exit(1)
print(f"receiver: HTTP {put['Status']} {put['Method']} {put['Path']}", file=sys.stderr)
try:
    print(json.dumps(json.loads(put["Body"]), indent=2))
except ValueError:
    print(put["Body"])
PY
}

seen="$(receiver count)" || {
  echo "invoke: the response receiver ${RECEIVER_URL} does not answer: is 'make watch' running?" >&2
  exit 1
}
"${CARGO_LAMBDA}" lambda invoke --invoke-address 127.0.0.1 --invoke-port "${INVOKE_PORT}" \
  --data-file "${event}" "${FUNCTION_BIN}" >/dev/null
receiver answer "${seen}"
