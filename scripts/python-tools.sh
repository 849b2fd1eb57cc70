#!/usr/bin/env bash
# Creates (idempotently) the project-local virtualenv .venv with the pinned
# template/deploy tooling:
#   - cfn-lint      (CloudFormation linter, used by scripts/lint-templates.sh)
#   - aws-sam-cli   (`sam validate --lint`, `sam build`, `sam deploy`)
#   - cargo-lambda  (the PyPI wheel ships the prebuilt cargo-lambda binary;
#                    installed with --no-deps so it does not pull ziglang)
# Re-running is cheap: a stamp file records the pins and the Python version
# and nothing is reinstalled while they match. Quiet: prints nothing unless
# something fails (then pip's whole output). Works on a fresh machine (no
# .venv, empty pip cache; needs python3 with venv and PyPI access), recreates
# a .venv whose Python is gone or of another version, and is safe to run
# concurrently (make -j): a lock serializes installs.
# PYTHON=python3.12 scripts/python-tools.sh picks another interpreter.
# Usage (from anywhere): scripts/python-tools.sh
set -euo pipefail

CFN_LINT_VERSION=1.58.0
SAM_CLI_VERSION=1.170.0
CARGO_LAMBDA_VERSION=1.9.2

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${ROOT}/.venv"
STAMP="${VENV}/.python-tools.stamp"
PYTHON="${PYTHON:-python3}"

if ! command -v "${PYTHON}" >/dev/null 2>&1; then
  echo "python-tools: ${PYTHON} not found: install Python 3 (3.9 or newer)" >&2
  exit 1
fi
pyver() { "$1" -c 'import sys; print("%d.%d.%d" % sys.version_info[:3])' 2>/dev/null; }
python_version="$(pyver "${PYTHON}")"
want="python=${python_version}
cfn-lint=${CFN_LINT_VERSION}
aws-sam-cli=${SAM_CLI_VERSION}
cargo-lambda=${CARGO_LAMBDA_VERSION}"

up_to_date() {
  [[ -f "${STAMP}" && "$(cat "${STAMP}")" == "${want}" && -x "${VENV}/bin/python" \
    && -x "${VENV}/bin/cfn-lint" && -x "${VENV}/bin/sam" && -x "${VENV}/bin/cargo-lambda" ]]
}
up_to_date && exit 0

# One installer at a time (make -j runs several scripts that call this one);
# whoever waited finds the work done.
exec 9<"${BASH_SOURCE[0]}"
if command -v flock >/dev/null 2>&1; then
  flock 9
  up_to_date && exit 0
fi

log="$(mktemp)"
trap 'rm -f "${log}"' EXIT
run() {
  if ! "$@" >>"${log}" 2>&1; then
    echo "python-tools: failed: $*" >&2
    cat "${log}" >&2
    exit 1
  fi
}

# No user-level pip configuration that breaks installs into a virtualenv.
export PIP_USER=0 PIP_REQUIRE_VIRTUALENV=0 PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_INPUT=1

rm -f "${STAMP}"
if [[ ! -x "${VENV}/bin/python" || "$(pyver "${VENV}/bin/python")" != "${python_version}" ]]; then
  if ! "${PYTHON}" -m venv --clear "${VENV}" >>"${log}" 2>&1; then
    echo "python-tools: cannot create ${VENV} with ${PYTHON} -m venv (on Debian/Ubuntu: apt-get install python3-venv):" >&2
    cat "${log}" >&2
    exit 1
  fi
  # The pip that venv bundles may be too old for current wheels.
  run "${VENV}/bin/python" -m pip install -q --upgrade pip
fi
pip=("${VENV}/bin/python" -m pip --disable-pip-version-check --no-input -q)
run "${pip[@]}" install "cfn-lint==${CFN_LINT_VERSION}" "aws-sam-cli==${SAM_CLI_VERSION}"
run "${pip[@]}" install --no-deps "cargo-lambda==${CARGO_LAMBDA_VERSION}"

# Sanity checks: each tool must run and report the pinned version.
check() {
  local name="$1" expect="$2"; shift 2
  local out
  if ! out="$("$@" 2>&1)"; then
    echo "python-tools: ${name} does not run: ${out}" >&2
    exit 1
  fi
  if [[ "${out}" != *"${expect}"* ]]; then
    echo "python-tools: ${name} reports '${out}', expected ${expect}" >&2
    exit 1
  fi
}
check cfn-lint "${CFN_LINT_VERSION}" "${VENV}/bin/cfn-lint" --version
check sam "${SAM_CLI_VERSION}" env SAM_CLI_TELEMETRY=0 "${VENV}/bin/sam" --version
check cargo-lambda "${CARGO_LAMBDA_VERSION}" "${VENV}/bin/cargo-lambda" lambda --version

printf '%s\n' "${want}" >"${STAMP}"
