#!/usr/bin/env bash
# Smoke test of the function under `cargo lambda watch` (run by `make test`):
#   1. checks that 127.0.0.1:9001, :9002 and the invoke port :9010
#      (INVOKE_PORT) are free, and builds the stand-ins and the function;
#   2. starts, in the background, a fresh `standins serve` (SageMaker stand-in
#      with image demo-image, short create/delete delays; response receiver)
#      and `cargo lambda watch --ignore-changes` with the function's local
#      environment (scripts/local-common.sh), and waits until watch listens;
#   3. sends every event of events/ with `cargo lambda invoke`, in lifecycle
#      order, and checks the answer the receiver got for each RequestId:
#        create.json              SUCCESS, PhysicalResourceId = version 1 ARN, Data.Version "1"
#        update-in-place.json     SUCCESS, the same ARN (the request's PhysicalResourceId)
#        update-replacement.json  SUCCESS, version 2 ARN, Data.Version "2"
#        delete-replaced.json     SUCCESS, the request's PhysicalResourceId (version 1)
#        delete.json              SUCCESS, the request's PhysicalResourceId (version 2)
#        create-bad-input.json    FAILED, Reason naming ImageName, JobType and Aliasses
#      (every answer also echoes the request's RequestId, StackId and
#      LogicalResourceId); an event file in events/ that is not in this list
#      fails the test, as does a listed one that is missing;
#   4. checks that versions 1 and 2 are gone from the stand-in, and that the
#      function called only SageMaker actions that template.yaml grants.
# All background processes are stopped on any exit. On failure, the tails of
# the watch and stand-in logs are printed; the full logs stay in
# target/local/smoke/.
# Usage (from anywhere): scripts/cargo-lambda-smoke.sh
set -euo pipefail

SCRIPT_NAME=cargo-lambda-smoke
# shellcheck source=scripts/local-common.sh
source "$(dirname "${BASH_SOURCE[0]}")/local-common.sh"
cd "${ROOT}"
"${ROOT}/scripts/python-tools.sh"
start=${SECONDS}

# Lifecycle order; must name every file in events/.
EVENTS=(create update-in-place update-replacement delete-replaced delete create-bad-input)

LOGS="${TARGET_DIR}/local/smoke"
mkdir -p "${LOGS}"
rm -f "${LOGS}"/*.log "${LOGS}"/*.json
WATCH_LOG="${LOGS}/watch.log"
STANDINS_LOG="${LOGS}/standins.log"

fail() {
  echo "${SCRIPT_NAME}: FAILED: $*" >&2
  exit 1
}
on_exit() {
  local rc=$?
  stop_groups
  if ((rc != 0)); then
    local f
    for f in "${WATCH_LOG}" "${STANDINS_LOG}"; do
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

# Every file in events/ is exercised, and every listed one exists.
shopt -s nullglob
files=(events/*.json)
shopt -u nullglob
declare -A listed=()
for name in "${EVENTS[@]}"; do
  listed["${name}"]=1
  [[ -f "events/${name}.json" ]] || fail "events/${name}.json is in the lifecycle list but does not exist"
done
for f in "${files[@]}"; do
  name="$(basename "${f}" .json)"
  [[ -n "${listed[${name}]:-}" ]] \
    || fail "${f} is not covered: add it (with its expected answer) to EVENTS and to the checks in $0"
done

require_free_ports sagemaker-stand-in:"${SAGEMAKER_PORT}" receiver:"${RECEIVER_PORT}" cargo-lambda-watch:"${INVOKE_PORT}"
build_binaries || fail "cargo build of the stand-ins or the function"

start_standins "${STANDINS_LOG}" --create-delay-ms 300 --delete-delay-ms 200 || fail "standins serve"

set_watch_cmd
start_group "${WATCH_LOG}" "${WATCH_CMD[@]}" --ignore-changes
watch_pid="${LAST_PID}"
wait_port "${INVOKE_PORT}" 120 "${watch_pid}" \
  || fail "cargo lambda watch did not listen on 127.0.0.1:${INVOKE_PORT} within 120 s"
echo "${SCRIPT_NAME}: stand-ins and cargo lambda watch up after $((SECONDS - start)) s"

for name in "${EVENTS[@]}"; do
  event="events/${name}.json"
  t0=${SECONDS}
  kill -0 "${watch_pid}" 2>/dev/null || fail "cargo lambda watch exited before ${event}"
  if ! timeout 180 "${CARGO_LAMBDA}" lambda invoke --invoke-address 127.0.0.1 --invoke-port "${INVOKE_PORT}" \
      --data-file "${event}" "${FUNCTION_BIN}" >"${LOGS}/${name}.invoke.log" 2>&1; then
    cat "${LOGS}/${name}.invoke.log" >&2
    fail "cargo lambda invoke ${event}"
  fi
  "${VENV}/bin/python" - "${RECEIVER_URL}" "${event}" "${name}" >"${LOGS}/${name}.answer.json" <<'PY' \
    || { cat "${LOGS}/${name}.answer.json" >&2; fail "${event}: wrong or missing answer"; }
import json, sys, urllib.error, urllib.parse, urllib.request

base, path, name = sys.argv[1:4]
event = json.load(open(path))
rid = event["RequestId"]
VERSION_ARN = "arn:aws:sagemaker:us-east-1:123456789012:image-version/demo-image/{}"

try:
    with urllib.request.urlopen(
        f"{base}/_receiver/wait?request_id={urllib.parse.quote(rid)}&timeout_ms=60000", timeout=70
    ) as r:
        put = json.load(r)
except urllib.error.HTTPError as e:
    print(f"no answer reached the receiver for RequestId {rid} within 60 s (HTTP {e.code})")
    sys.exit(1)
try:
    body = json.loads(put["Body"])
except ValueError:
    print(f"the answer is not JSON: {put['Body']!r}")
    sys.exit(1)
print(json.dumps(body, indent=2))

errors = []
def expect(what, got, want):
    if got != want:
        errors.append(f"{what}: expected {want!r}, got {got!r}")

expect("PUT status", put["Status"], 200)
for key in ("RequestId", "StackId", "LogicalResourceId"):
    expect(key, body.get(key), event[key])
data = body.get("Data") or {}

if name == "create":
    expect("Status", body.get("Status"), "SUCCESS")
    expect("PhysicalResourceId", body.get("PhysicalResourceId"), VERSION_ARN.format(1))
    expect("Data.Version", data.get("Version"), "1")
    expect("Data.Arn", data.get("Arn"), VERSION_ARN.format(1))
elif name == "update-in-place":
    expect("Status", body.get("Status"), "SUCCESS")
    expect("PhysicalResourceId", body.get("PhysicalResourceId"), event["PhysicalResourceId"])
    expect("PhysicalResourceId", body.get("PhysicalResourceId"), VERSION_ARN.format(1))
elif name == "update-replacement":
    expect("Status", body.get("Status"), "SUCCESS")
    expect("PhysicalResourceId", body.get("PhysicalResourceId"), VERSION_ARN.format(2))
    expect("Data.Version", data.get("Version"), "2")
elif name in ("delete-replaced", "delete"):
    expect("Status", body.get("Status"), "SUCCESS")
    expect("PhysicalResourceId", body.get("PhysicalResourceId"), event["PhysicalResourceId"])
elif name == "create-bad-input":
    expect("Status", body.get("Status"), "FAILED")
    reason = body.get("Reason") or ""
    for word in ("ImageName", "JobType", "Aliasses"):
        if word not in reason:
            errors.append(f"Reason does not name {word}: {reason!r}")
else:
    errors.append(f"no expectation for {name}: add one to scripts/cargo-lambda-smoke.sh")

if errors:
    print("\n".join(errors))
    sys.exit(1)
PY
  printf '%s: %-32s %-8s %s (%d s)\n' "${SCRIPT_NAME}" "${event}" \
    "$("${VENV}/bin/python" -c 'import json,sys; print(json.load(open(sys.argv[1]))["Status"])' "${LOGS}/${name}.answer.json")" \
    "$("${VENV}/bin/python" -c 'import json,sys; print(json.load(open(sys.argv[1])).get("PhysicalResourceId", ""))' "${LOGS}/${name}.answer.json")" \
    $((SECONDS - t0))
done

# The stand-in's end state and the SageMaker calls made.
"${VENV}/bin/python" - "${SAGEMAKER_URL}" template.yaml <<'PY' || fail "end state or SageMaker calls"
import json, sys, urllib.request
from cfnlint.decode import decode

base, template_path = sys.argv[1:3]
def get(path):
    with urllib.request.urlopen(base + path, timeout=10) as r:
        return json.load(r)

errors = []
left = [v for v in get("/_standin/versions?image=demo-image") if v["Version"] in (1, 2)]
for v in left:
    errors.append(f"version {v['Version']} of demo-image is still there ({v['Status']})")

# Every SageMaker action called is granted by template.yaml's FunctionRole.
template, matches = decode(template_path)
if matches:
    errors.extend(str(m) for m in matches)
    granted = set()
else:
    granted = set()
    for policy in template["Resources"]["FunctionRole"]["Properties"]["Policies"]:
        for st in policy["PolicyDocument"]["Statement"]:
            actions = st["Action"] if isinstance(st["Action"], list) else [st["Action"]]
            granted.update(a.split(":", 1)[1] for a in actions if a.startswith("sagemaker:"))
calls = [c["Operation"] for c in get("/_standin/calls")]
for op in sorted(set(calls) - granted):
    errors.append(f"the function called SageMaker {op}, which template.yaml does not grant")
counts = {}
for op in calls:
    counts[op] = counts.get(op, 0) + 1
print("cargo-lambda-smoke: SageMaker calls: " + ", ".join(f"{op} x{n}" for op, n in sorted(counts.items())))
if errors:
    print("\n".join(errors), file=sys.stderr)
    sys.exit(1)
PY

echo "${SCRIPT_NAME}: OK: ${#EVENTS[@]} events, versions 1 and 2 deleted, $((SECONDS - start)) s"
