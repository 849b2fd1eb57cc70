# shellcheck shell=bash
# Shared by scripts/bench.sh and scripts/python-tools.sh (sourced, not run):
# `run CMD...` runs a step quietly, its output kept in RUN_LOG, a temporary
# file; when the step fails it prints the step and the whole log, and exits.
# Messages start with the script's name (bench.sh: `bench: failed: ...`).

RUN_LOG="$(mktemp)"
trap 'rm -f "${RUN_LOG}"' EXIT
run() {
  "$@" >>"${RUN_LOG}" 2>&1 && return
  echo "$(basename "$0" .sh): failed: $*" >&2
  cat "${RUN_LOG}" >&2
  exit 1
}
