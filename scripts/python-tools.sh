#!/usr/bin/env bash
# Creates or updates a project-local virtualenv from the pins of
# scripts/requirements/:
#   tools (default)  .venv        tools.txt (cfn-lint, aws-sam-cli) and
#                                 tools-no-deps.txt (cargo-lambda, --no-deps)
#   bench            .venv-bench  bench.txt (boto3, for bench/baseline)
#   construct        .venv-construct  construct.txt (build, setuptools, twine:
#                                 the construct library's Python wheel)
# Re-running is cheap: a stamp records the requirement files and the Python
# version, and nothing is installed while they match. Quiet unless something
# fails (then pip's whole output). Recreates a venv whose Python is gone or of
# another version; a lock serializes concurrent runs (make -j).
# PYTHON=python3.12 picks another interpreter.
# Usage (from anywhere): scripts/python-tools.sh [tools|bench|construct]
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
REQS="${ROOT}/scripts/requirements"
PYTHON="${PYTHON:-python3}"
set_name="${1:-tools}"
case "${set_name}" in
  tools) venv="${ROOT}/.venv" ;;
  bench) venv="${ROOT}/.venv-bench" ;;
  construct) venv="${ROOT}/.venv-construct" ;;
  *) echo "usage: $0 [tools|bench|construct]" >&2; exit 2 ;;
esac
reqs=("${REQS}/${set_name}.txt")
no_deps="${REQS}/${set_name}-no-deps.txt"
[[ -f "${no_deps}" ]] && reqs+=("${no_deps}")
stamp="${venv}/.requirements.stamp"

command -v "${PYTHON}" >/dev/null || { echo "python-tools: ${PYTHON} not found: install Python 3.9 or newer" >&2; exit 1; }
pyver() { "$1" -c 'import sys; print(sys.version)' 2>/dev/null; }
want="$(pyver "${PYTHON}"; cat "${reqs[@]}")"
up_to_date() { [[ -f "${stamp}" && "$(cat "${stamp}")" == "${want}" ]]; }
up_to_date && exit 0

# One installer at a time; whoever waited finds the work done.
exec 9<"${BASH_SOURCE[0]}"
flock 9
up_to_date && exit 0

# shellcheck source=scripts/quiet-run.sh
source "${ROOT}/scripts/quiet-run.sh"

# No user-level pip configuration that breaks installs into a virtualenv.
export PIP_USER=0 PIP_REQUIRE_VIRTUALENV=0 PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_INPUT=1
rm -f "${stamp}"
if [[ "$(pyver "${venv}/bin/python")" != "$(pyver "${PYTHON}")" ]]; then
  echo "python-tools: creating ${venv} (on Debian/Ubuntu it needs python3-venv)" >&2
  run "${PYTHON}" -m venv --clear "${venv}"
  # The pip that venv bundles may be too old for current wheels.
  run "${venv}/bin/python" -m pip install -q --upgrade pip
fi
pip=("${venv}/bin/python" -m pip install -q)
run "${pip[@]}" -r "${REQS}/${set_name}.txt"
[[ -f "${no_deps}" ]] && run "${pip[@]}" --no-deps -r "${no_deps}"
printf '%s\n' "${want}" >"${stamp}"
