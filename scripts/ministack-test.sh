#!/usr/bin/env bash
# `make ministack`: the function judged by a CloudFormation engine nobody here
# wrote. tests/ministack deploys stacks of tests/ministack/template.yaml
# through ministack (PyPI: pure Python, no Docker) against the SageMaker
# stand-in:
#   1. .venv-ministack from the pins of scripts/requirements/ministack.txt,
#      reinstalled only when they or the Python change;
#   2. the debug builds of the function and the stand-ins, built only when
#      missing (`cargo test --workspace` makes them too);
#   3. `standins serve` (the tests' images, short builds: world.py) and
#      ministack, each on free loopback ports; ministack in a clean
#      environment (env -i), as its own environment is where the function's
#      starts from and an AWS_ENDPOINT_URL in it is forced onto the function;
#   4. pytest tests/ministack, then one line: `ministack: N passed, N failed (T s)`.
# All background processes are stopped on any exit. On failure, the tails of
# the ministack, stand-in and function logs are printed; the logs stay in
# target/ministack/.
# Usage (from anywhere): scripts/ministack-test.sh [PYTEST_ARGS...]
set -euo pipefail

SCRIPT_NAME=ministack
# shellcheck source=scripts/local-common.sh
source "$(dirname "${BASH_SOURCE[0]}")/local-common.sh"
# shellcheck source=scripts/quiet-run.sh
source "${ROOT}/scripts/quiet-run.sh"
cd "${ROOT}"
start=${SECONDS}

VENV="${ROOT}/.venv-ministack"
REQS="${ROOT}/scripts/requirements/ministack.txt"
PY="${VENV}/bin/python"
TESTS="${ROOT}/tests/ministack"
LOGS="${TARGET_DIR}/ministack"
MINISTACK_LOG="${LOGS}/ministack.log"
STANDINS_LOG="${LOGS}/standins.log"
FUNCTIONS_LOG="${LOGS}/functions.log"
JUNIT="${LOGS}/junit.xml"

show_logs() {
  local f
  for f in "${MINISTACK_LOG}" "${STANDINS_LOG}" "${FUNCTIONS_LOG}"; do
    [[ -s "${f}" ]] || continue
    echo "---- last 40 lines of ${f} (DEBUG lines left out) ----" >&2
    grep -v ' DEBUG ' "${f}" | tail -n 40 >&2 || true
  done
}
# The logs once, before the closing line when there is one.
logs_shown=0
on_exit() {
  local rc=$?
  ((rc == 0 || logs_shown)) || show_logs
  stop_groups
  rm -f "${RUN_LOG}"
  exit "${rc}"
}
trap on_exit EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# 1. The venv, as scripts/python-tools.sh makes its own: a stamp records the
#    pins and the Python version.
PYTHON="${PYTHON:-python3}"
command -v "${PYTHON}" >/dev/null || { echo "${SCRIPT_NAME}: ${PYTHON} not found: install Python 3.10 or newer" >&2; exit 1; }
want="$("${PYTHON}" -c 'import sys; print(sys.version)'; cat "${REQS}")"
if [[ ! -f "${VENV}/.requirements.stamp" || "$(cat "${VENV}/.requirements.stamp")" != "${want}" ]]; then
  echo "${SCRIPT_NAME}: installing ${REQS} into ${VENV} (on Debian/Ubuntu venv needs python3-venv)" >&2
  # No user-level pip configuration that breaks installs into a virtualenv.
  export PIP_USER=0 PIP_REQUIRE_VIRTUALENV=0 PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_INPUT=1
  run "${PYTHON}" -m venv --clear "${VENV}"
  # The pip that venv bundles may be too old for current wheels.
  run "${PY}" -m pip install -q --upgrade pip
  run "${PY}" -m pip install -q -r "${REQS}"
  printf '%s\n' "${want}" >"${VENV}/.requirements.stamp"
fi

# 2. The binaries.
FUNCTION="${TARGET_DIR}/debug/${FUNCTION_BIN}"
if [[ ! -x "${FUNCTION}" || ! -x "${STANDINS}" ]]; then
  build_binaries || { echo "${SCRIPT_NAME}: cargo build of the function and the stand-ins failed" >&2; exit 1; }
fi

# 3. The stand-ins and ministack. Its HOME and TMPDIR (the function's too) are
#    fresh: no ~/.aws reaches the function, and its pid file and the unzipped
#    function are this run's.
rm -rf "${LOGS}"
mkdir -p "${LOGS}/home" "${LOGS}/tmp"
read -r sagemaker receiver lambda sfn gateway < <("${PY}" -c '
import socket
socks = [socket.socket() for _ in range(5)]
for s in socks:
    s.bind(("127.0.0.1", 0))
print(*(s.getsockname()[1] for s in socks))')
region="$("${STANDINS}" env | sed -n 's/^AWS_REGION=//p')"
mapfile -t serve_args < <("${PY}" "${TESTS}/world.py")
start_standins "${STANDINS_LOG}" --sagemaker "127.0.0.1:${sagemaker}" --receiver "127.0.0.1:${receiver}" \
  --lambda "127.0.0.1:${lambda}" --sfn "127.0.0.1:${sfn}" "${serve_args[@]}" \
  || { echo "${SCRIPT_NAME}: standins serve did not start" >&2; exit 1; }
# MINISTACK_HOST is the ResponseURL's host: "localhost" may resolve to ::1,
# where nothing listens. Off: IoT's MQTT listener (it binds 0.0.0.0:8883
# whatever BIND_HOST says) and Transfer's SFTP (0.0.0.0 too, when used).
start_group "${MINISTACK_LOG}" env -i PATH="${PATH}" HOME="${LOGS}/home" TMPDIR="${LOGS}/tmp" \
  GATEWAY_PORT="${gateway}" BIND_HOST=127.0.0.1 MINISTACK_HOST=127.0.0.1 MINISTACK_REGION="${region}" \
  IOT_MTLS_ENABLED=0 SFTP_ENABLED=0 "${PY}" -m ministack
wait_listening "127.0.0.1:${gateway}" 60 "${LAST_PID}" \
  || { echo "${SCRIPT_NAME}: ministack did not listen on 127.0.0.1:${gateway} within 60 s" >&2; exit 1; }
echo "${SCRIPT_NAME}: stand-ins and ministack $(sed -n 's/^ministack==//p' "${REQS}") up after $((SECONDS - start)) s"

# 4. The tests, in a clean environment too: no AWS_* of the caller's reaches boto3.
t0=${SECONDS}
rc=0
env -i PATH="${PATH}" HOME="${LOGS}/home" PYTHONDONTWRITEBYTECODE=1 \
  MINISTACK_ENDPOINT="http://127.0.0.1:${gateway}" MINISTACK_SAGEMAKER="http://127.0.0.1:${sagemaker}" \
  MINISTACK_REGION="${region}" MINISTACK_FUNCTION="${FUNCTION}" MINISTACK_STANDINS="${STANDINS}" \
  MINISTACK_LOGS="${LOGS}" \
  "${PY}" -m pytest -p no:cacheprovider --junitxml="${JUNIT}" "${TESTS}" "$@" || rc=$?
[[ -s "${JUNIT}" ]] || { echo "${SCRIPT_NAME}: no results (pytest exit ${rc})" >&2; exit $((rc ? rc : 1)); }
((rc == 0)) || show_logs
logs_shown=1
"${PY}" - "${JUNIT}" $((SECONDS - t0)) <<'EOF'
import sys
import xml.etree.ElementTree as ET

suite = ET.parse(sys.argv[1]).getroot()
suite = suite if suite.tag == "testsuite" else suite.find("testsuite")
tests, failures, errors, skipped = (int(suite.get(k, 0)) for k in ("tests", "failures", "errors", "skipped"))
print(f"ministack: {tests - failures - errors - skipped} passed, {failures + errors} failed ({sys.argv[2]} s)")
EOF
exit "${rc}"
