#!/usr/bin/env bash
# `make bench`: the Rust function against the Python handler people write
# today (bench/baseline), on loopback against the local stand-ins. Prints one
# table. Fails only on functional errors (an answer missing or wrong), never
# on timing.
#
#   BENCH_SHORT=1  fewer iterations (CI: keeps the bench working, < 2 min
#                  after the builds)
#   BUILD=1        also time a clean release build of the function, in its
#                  own target dir (target/bench-clean), removed afterwards
set -euo pipefail

BOTO3_VERSION=1.44.8

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "${ROOT}"
BIN=sagemaker-image-version
OUT="${ROOT}/target/bench"
VENV="${ROOT}/.venv-bench"
STAMP="${VENV}/.bench.stamp"
PYTHON="${PYTHON:-python3}"
mkdir -p "${OUT}"

log="$(mktemp)"
trap 'rm -f "${log}"' EXIT
run() {
  if ! "$@" >>"${log}" 2>&1; then
    echo "bench: failed: $*" >&2
    cat "${log}" >&2
    exit 1
  fi
}

# 1. The baseline's venv: boto3 pinned, from PyPI, reinstalled only when the
#    pin or the Python version changes.
want="python=$("${PYTHON}" -c 'import sys; print("%d.%d.%d" % sys.version_info[:3])')
boto3=${BOTO3_VERSION}"
if [[ ! -f "${STAMP}" || "$(cat "${STAMP}")" != "${want}" || ! -x "${VENV}/bin/python" ]]; then
  echo "bench: installing boto3 ${BOTO3_VERSION} into ${VENV}" >&2
  [[ -x "${VENV}/bin/python" ]] || run "${PYTHON}" -m venv "${VENV}"
  rm -f "${STAMP}"
  run "${VENV}/bin/python" -m pip --disable-pip-version-check --no-input -q install "boto3==${BOTO3_VERSION}"
  printf '%s\n' "${want}" >"${STAMP}"
fi
run "${VENV}/bin/python" -c "import boto3, sys; sys.exit(boto3.__version__ != '${BOTO3_VERSION}')"

# 2. Optional: a clean release build, timed. `cargo clean -p` keeps the
#    dependencies, so it gets a target dir of its own.
build_args=()
if [[ "${BUILD:-0}" == 1 ]]; then
  clean="${ROOT}/target/bench-clean"
  rm -rf "${clean}"
  echo "bench: clean release build in ${clean} (about 10 minutes on 2 cores)" >&2
  start=$(date +%s.%N)
  run env CARGO_TARGET_DIR="${clean}" cargo build --release -p "${BIN}"
  end=$(date +%s.%N)
  rm -rf "${clean}"
  build_args=(--build-seconds "$("${PYTHON}" -c "print(round(${end} - ${start}, 1))")")
fi

# 3. The function (incremental: a no-op when target/release is up to date)
#    and the bench tool. The tool gets its own target dir and a quick release
#    profile (no LTO): the stand-ins it runs must be optimised, but it must
#    not rebuild the function's artifacts.
echo "bench: building the function (release) and the bench tool" >&2
run cargo build --release --bin "${BIN}"
run env CARGO_TARGET_DIR="${ROOT}/target/bench-tool" CARGO_PROFILE_RELEASE_LTO=false \
  CARGO_PROFILE_RELEASE_CODEGEN_UNITS=16 cargo build --release -p bench

# 4. Deployment packages. bootstrap.zip from scripts/package.sh when there is
#    one, else the binary zipped as `bootstrap`; the Python handler zipped
#    alone (boto3 is part of Lambda's Python runtime).
rust_zip="${ROOT}/target/lambda/${BIN}/bootstrap.zip"
if [[ ! -f "${rust_zip}" || "${rust_zip}" -ot "${ROOT}/target/release/${BIN}" ]]; then
  rust_zip="${OUT}/bootstrap.zip"
  run "${PYTHON}" - "${ROOT}/target/release/${BIN}" "${rust_zip}" <<'PY'
import sys, zipfile
src, dst = sys.argv[1:3]
with zipfile.ZipFile(dst, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as z:
    info = zipfile.ZipInfo("bootstrap", date_time=(1980, 1, 1, 0, 0, 0))
    info.external_attr = 0o100755 << 16
    info.compress_type = zipfile.ZIP_DEFLATED
    with open(src, "rb") as f:
        z.writestr(info, f.read(), compresslevel=9)
PY
fi
py_zip="${OUT}/baseline-handler.zip"
run "${PYTHON}" - "${ROOT}/bench/baseline/handler.py" "${py_zip}" <<'PY'
import sys, zipfile
src, dst = sys.argv[1:3]
with zipfile.ZipFile(dst, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as z:
    z.write(src, "handler.py")
PY
site="$("${VENV}/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')"

# 5. The bench itself.
exec "${ROOT}/target/bench-tool/release/bench" \
  --function "${ROOT}/target/release/${BIN}" \
  --function-zip "${rust_zip}" \
  --baseline "${ROOT}/bench/baseline/bootstrap" \
  --baseline-handler "${ROOT}/bench/baseline/handler.py" \
  --baseline-zip "${py_zip}" \
  --baseline-venv "${VENV}" \
  --baseline-site-packages "${site}" \
  "${build_args[@]}"
