#!/usr/bin/env bash
# Builds the Lambda deployment package (`make package`):
#   1. `cargo lambda build --release` of the function for this machine's
#      architecture (x86_64 -> --x86-64, aarch64 -> --arm64), or for
#      ARCH=arm64 / ARCH=x86_64. cargo lambda cross-compiles with zig
#      (cargo-zigbuild) by default; when no zig is installed and the target
#      is the host's own, it builds with plain cargo (--compiler cargo), which
#      needs nothing but the Rust toolchain and crates.io. Cross-compiling
#      without zig is refused with a hint (pip install ziglang);
#   2. target/lambda/sagemaker-image-version/bootstrap (the binary, as cargo
#      lambda leaves it) is zipped into bootstrap.zip next to it: one entry,
#      "bootstrap", mode 0755, fixed timestamp (the same binary always gives
#      the same zip, so CDK/SAM asset hashes only change with the code);
#   3. checks the binary's architecture and, for a plain-cargo build, that it
#      needs no glibc newer than the 2.34 of the provided.al2023 runtime;
#   4. prints the binary's and the zip's sizes.
# template.yaml and examples/cdk declare Architectures arm64: deploy an x86_64
# package only after switching them to x86_64 (see the README, Deploy).
# Usage (from anywhere): scripts/package.sh        ARCH=arm64 scripts/package.sh
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "${ROOT}"
"${ROOT}/scripts/python-tools.sh"
VENV="${ROOT}/.venv"
BIN=sagemaker-image-version
# Newest glibc symbol version the Lambda runtime provided.al2023 has.
RUNTIME_GLIBC=2.34

host="$(uname -m)"
case "${host}" in
  x86_64 | amd64) host=x86_64 ;;
  aarch64 | arm64) host=arm64 ;;
  *) echo "package: unsupported host architecture ${host}" >&2; exit 1 ;;
esac
arch="${ARCH:-${host}}"
case "${arch}" in
  x86_64 | x86-64 | amd64) arch=x86_64; flag=--x86-64; elf_machine="X86-64"; triple=x86_64-unknown-linux-gnu ;;
  arm64 | aarch64) arch=arm64; flag=--arm64; elf_machine="AArch64"; triple=aarch64-unknown-linux-gnu ;;
  *) echo "package: ARCH must be x86_64 or arm64, not ${arch}" >&2; exit 1 ;;
esac

# zig: on PATH, or the ziglang wheel in .venv (cargo-zigbuild runs `python3 -m
# ziglang` when there is no zig on PATH).
export PATH="${VENV}/bin:${PATH}"
have_zig=0
if command -v zig >/dev/null 2>&1 || python3 -c 'import ziglang' >/dev/null 2>&1; then
  have_zig=1
fi
compiler=()
if ((have_zig)); then
  how="cargo-zigbuild (zig)"
elif [[ "${arch}" == "${host}" ]]; then
  compiler=(--compiler cargo)
  how="plain cargo (no zig installed; native build)"
else
  echo "package: building for ${arch} on a ${host} machine needs zig, which is not installed." >&2
  echo "package: install it into the project's virtualenv and retry:" >&2
  echo "           ${VENV}/bin/pip install ziglang" >&2
  exit 1
fi

target_dir="$(cargo metadata --format-version 1 --no-deps | python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')"
out="${target_dir}/lambda/${BIN}"
rm -f "${out}/bootstrap" "${out}/bootstrap.zip"

echo "package: cargo lambda build --release ${flag} with ${how}"
start=${SECONDS}
"${VENV}/bin/cargo-lambda" lambda build --release "${flag}" "${compiler[@]}" \
  --package "${BIN}" --bin "${BIN}"
echo "package: built in $((SECONDS - start)) s"

bootstrap="${out}/bootstrap"
if [[ ! -x "${bootstrap}" ]]; then
  echo "package: cargo lambda did not produce ${bootstrap}" >&2
  exit 1
fi

# The binary is for the intended architecture...
machine="$(LC_ALL=C readelf -h "${bootstrap}" 2>/dev/null | sed -n 's/^ *Machine: *//p' || true)"
if [[ -n "${machine}" && "${machine}" != *"${elf_machine}"* ]]; then
  echo "package: ${bootstrap} is for '${machine}', expected ${elf_machine} (${triple})" >&2
  exit 1
fi
# ...and runs on the provided.al2023 glibc. (zig links against an old glibc
# on purpose; a plain cargo build links against this machine's.)
if command -v objdump >/dev/null 2>&1; then
  newest="$(objdump -T "${bootstrap}" | grep -o 'GLIBC_[0-9][0-9.]*' | sed 's/GLIBC_//' | sort -uV | tail -n 1)"
  if [[ -n "${newest}" && "$(printf '%s\n%s\n' "${newest}" "${RUNTIME_GLIBC}" | sort -V | tail -n 1)" != "${RUNTIME_GLIBC}" ]]; then
    echo "package: ${bootstrap} needs glibc ${newest}, newer than the ${RUNTIME_GLIBC} of provided.al2023:" >&2
    echo "package: it would fail to start on Lambda. Build with zig (${VENV}/bin/pip install ziglang) instead." >&2
    exit 1
  fi
  glibc_note=", needs glibc >= ${newest:-?} (runtime has ${RUNTIME_GLIBC})"
else
  glibc_note=""
fi

python3 - "${bootstrap}" "${out}/bootstrap.zip" <<'PY'
import os, sys, zipfile

src, dst = sys.argv[1], sys.argv[2]
info = zipfile.ZipInfo("bootstrap", date_time=(1980, 1, 1, 0, 0, 0))
info.external_attr = (0o100755 << 16)
info.create_system = 3  # Unix, so that the mode bits are honoured
info.compress_type = zipfile.ZIP_DEFLATED
tmp = dst + ".tmp"
with open(src, "rb") as f, zipfile.ZipFile(tmp, "w") as z:
    z.writestr(info, f.read(), compresslevel=9)
os.replace(tmp, dst)
PY

size() {
  local bytes
  bytes="$(stat -c %s "$1")"
  printf '%s bytes (%s MiB)' "${bytes}" "$(python3 -c 'import sys; print(f"{int(sys.argv[1]) / 1048576:.2f}")' "${bytes}")"
}
echo "package: ${arch} (${triple})${glibc_note}"
echo "package: binary ${bootstrap}: $(size "${bootstrap}")"
echo "package: zip    ${out}/bootstrap.zip: $(size "${out}/bootstrap.zip")"
if [[ "${arch}" != arm64 ]]; then
  echo "package: note: template.yaml and examples/cdk deploy arm64; this ${arch} package needs Architectures: [${arch}] there."
fi
