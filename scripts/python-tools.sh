#!/usr/bin/env bash
# Creates (idempotently) the project-local virtualenv .venv with the pinned
# template/deploy tooling:
#   - cfn-lint      (CloudFormation linter, used by scripts/lint-templates.sh)
#   - aws-sam-cli   (`sam validate --lint`, `sam build`, `sam deploy`)
#   - cargo-lambda  (the PyPI wheel ships the prebuilt cargo-lambda binary;
#                    installed with --no-deps so it does not pull ziglang)
# Re-running is cheap: a stamp file records the pins and the Python version
# and nothing is reinstalled while they match.
# Usage (from anywhere): scripts/python-tools.sh
set -euo pipefail

CFN_LINT_VERSION=1.58.0
SAM_CLI_VERSION=1.170.0
CARGO_LAMBDA_VERSION=1.9.2

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${ROOT}/.venv"
STAMP="${VENV}/.python-tools.stamp"
PYTHON="${PYTHON:-python3}"

want="python=$("${PYTHON}" -c 'import sys; print("%d.%d.%d" % sys.version_info[:3])')
cfn-lint=${CFN_LINT_VERSION}
aws-sam-cli=${SAM_CLI_VERSION}
cargo-lambda=${CARGO_LAMBDA_VERSION}"

if [[ -f "${STAMP}" && "$(cat "${STAMP}")" == "${want}" \
      && -x "${VENV}/bin/cfn-lint" && -x "${VENV}/bin/sam" && -x "${VENV}/bin/cargo-lambda" ]]; then
  exit 0
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

if [[ ! -x "${VENV}/bin/python" ]]; then
  run "${PYTHON}" -m venv "${VENV}"
fi
rm -f "${STAMP}"
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
