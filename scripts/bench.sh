#!/usr/bin/env bash
# `make bench`: the Rust function against the Python handler people write
# today (bench/baseline), on loopback against the local stand-ins. Prints one
# table. Fails only on functional errors (an answer missing or wrong), never
# on timing.
#
#   BENCH_SHORT=1  fewer iterations, on the debug build (CI: keeps the bench
#                  working without a release build; its figures are not the
#                  release's)
#   BUILD=1        also time a clean `scripts/package.sh`, in its own target
#                  dir (target/bench-clean), removed afterwards
#   BENCH_QUEUE=3/5     the queue's build time and function timeout, in
#                       seconds (default 30/40; BENCH_SHORT 1/3)
#   BENCH_QUEUE_ONLY=1  only the queue
#
# Otherwise the function is the release artifact of scripts/package.sh
# (incremental: a no-op when up to date), so the release profile is compiled
# once for both.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "${ROOT}"
OUT="${ROOT}/target/bench"
VENV="${ROOT}/.venv-bench"
mkdir -p "${OUT}"

# shellcheck source=scripts/quiet-run.sh
source "${ROOT}/scripts/quiet-run.sh"

# 1. The baseline's venv (boto3, pinned in scripts/requirements/bench.txt).
"${ROOT}/scripts/python-tools.sh" bench

# 2. Optional: a clean package build, timed.
build_args=()
if [[ "${BUILD:-0}" == 1 ]]; then
  clean="${ROOT}/target/bench-clean"
  rm -rf "${clean}"
  echo "bench: clean release build in ${clean} (about 10 minutes on 2 cores)" >&2
  start=$(date +%s%N)
  run env CARGO_TARGET_DIR="${clean}" "${ROOT}/scripts/package.sh"
  end=$(date +%s%N)
  rm -rf "${clean}"
  build_args=(--build-seconds "$(((end - start) / 1000000000)).$(((end - start) / 100000000 % 10))")
fi

# 3. The function's package, and the bench tool. The tool gets its own target
#    dir and a quick release profile (no LTO): the stand-ins it runs must be
#    optimised, but it must not rebuild the function's artifacts.
if [[ "${BENCH_SHORT:-0}" == 1 ]]; then
  # CI keeps the bench working on the debug build the tests made: a release
  # build of the same code would double CI's time. Its figures say so.
  echo "bench: short mode on the debug build (figures are not the release's)" >&2
  run cargo build --workspace --bins
  binary="${ROOT}/target/debug/sagemaker-image-version"
  zip="${OUT}/debug-bootstrap.zip"
  rm -f "${zip}"
  run "${VENV}/bin/python" -m zipfile -c "${zip}" "${binary}"
  bench="${ROOT}/target/debug/bench"
else
  echo "bench: building the function's package (release) and the bench tool" >&2
  package="$("${ROOT}/scripts/package.sh" 2>>"${RUN_LOG}")" || { cat "${RUN_LOG}" >&2; exit 1; }
  binary="$(sed -n 's/^binary //p' <<<"${package}")"
  zip="$(sed -n 's/^zip //p' <<<"${package}")"
  run env CARGO_TARGET_DIR="${ROOT}/target/bench-tool" CARGO_PROFILE_RELEASE_LTO=false \
    CARGO_PROFILE_RELEASE_CODEGEN_UNITS=16 cargo build --release -p bench
  bench="${ROOT}/target/bench-tool/release/bench"
fi

py_zip="${OUT}/baseline-handler.zip"
rm -f "${py_zip}"
run "${VENV}/bin/python" -m zipfile -c "${py_zip}" "${ROOT}/bench/baseline/handler.py"
site="$(echo "${VENV}"/lib/python3*/site-packages)"

# 5. The bench itself. `exec` skips the EXIT trap: the steps' log goes first.
rm -f "${RUN_LOG}"
exec "${bench}" \
  --function "${binary}" \
  --function-zip "${zip}" \
  --baseline "${ROOT}/bench/baseline/bootstrap" \
  --baseline-handler "${ROOT}/bench/baseline/handler.py" \
  --baseline-zip "${py_zip}" \
  --baseline-venv "${VENV}" \
  --baseline-site-packages "${site}" \
  "${build_args[@]}"
