#!/usr/bin/env bash
# Builds the Lambda deployment package (`make package`) with
# `cargo lambda build --release --output-format zip` for this machine's
# architecture (x86_64 -> --x86-64, aarch64 -> --arm64), or for ARCH=arm64 /
# ARCH=x86_64:
#   - cargo lambda cross-compiles with zig (cargo-zigbuild) by default; with
#     no zig installed and the host's own architecture, it builds with plain
#     cargo (--compiler cargo), which needs nothing but the Rust toolchain.
#     Cross-compiling without zig is refused with a hint (pip install ziglang);
#   - either way cargo builds with --target TRIPLE, so the binary is
#     target/TRIPLE/release/sagemaker-image-version, and the package
#     target/lambda/sagemaker-image-version/bootstrap.zip (`bootstrap`, 0755);
#   - checks the binary's architecture and that it needs no glibc newer than
#     the 2.34 of the provided.al2023 runtime (a plain-cargo build links
#     against this machine's);
#   - reports on stderr; prints `binary PATH` and `zip PATH` on stdout (what
#     scripts/bench.sh reads).
# template.yaml (sam build) declares Architectures arm64; the packaged
# templates of `make release` and the construct library declare their
# package's own (see docs/deploy.md).
# Usage (from anywhere): scripts/package.sh        ARCH=arm64 scripts/package.sh
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "${ROOT}"
"${ROOT}/scripts/python-tools.sh"
VENV="${ROOT}/.venv"
BIN=sagemaker-image-version
TARGET_DIR="${CARGO_TARGET_DIR:-${ROOT}/target}"
# Newest glibc symbol version the Lambda runtime provided.al2023 has.
RUNTIME_GLIBC=2.34

host="$("${ROOT}/scripts/host-arch.sh")"
arch="${ARCH:-${host}}"
case "${arch}" in
  x86_64 | x86-64 | amd64) arch=x86_64; flag=--x86-64; elf_machine="X86-64"; triple=x86_64-unknown-linux-gnu ;;
  arm64 | aarch64) arch=arm64; flag=--arm64; elf_machine="AArch64"; triple=aarch64-unknown-linux-gnu ;;
  *) echo "package: ARCH must be x86_64 or arm64, not ${arch}" >&2; exit 1 ;;
esac

# zig: on PATH, or the ziglang wheel in .venv (cargo-zigbuild runs
# `python3 -m ziglang` when there is no zig on PATH).
export PATH="${VENV}/bin:${PATH}"
compiler=()
if command -v zig >/dev/null || python3 -m ziglang version >/dev/null 2>&1; then
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

bootstrap="${TARGET_DIR}/${triple}/release/${BIN}"
zip="${TARGET_DIR}/lambda/${BIN}/bootstrap.zip"
rm -f "${zip}"
echo "package: cargo lambda build --release ${flag} with ${how}" >&2
start=${SECONDS}
"${VENV}/bin/cargo-lambda" lambda build --release "${flag}" "${compiler[@]}" --output-format zip \
  --package "${BIN}" --bin "${BIN}" >&2
echo "package: built in $((SECONDS - start)) s" >&2
for f in "${bootstrap}" "${zip}"; do
  [[ -f "${f}" ]] || { echo "package: cargo lambda did not produce ${f}" >&2; exit 1; }
done

# The binary is for the intended architecture...
machine="$(LC_ALL=C readelf -h "${bootstrap}" 2>/dev/null | sed -n 's/^ *Machine: *//p' || true)"
if [[ -n "${machine}" && "${machine}" != *"${elf_machine}"* ]]; then
  echo "package: ${bootstrap} is for '${machine}', expected ${elf_machine} (${triple})" >&2
  exit 1
fi
# ...and runs on the provided.al2023 glibc. (zig links against an old glibc
# on purpose; a plain cargo build links against this machine's.)
glibc_note=""
if command -v objdump >/dev/null; then
  newest="$(objdump -T "${bootstrap}" | grep -o 'GLIBC_[0-9][0-9.]*' | sed 's/GLIBC_//' | sort -uV | tail -n 1)"
  if [[ -n "${newest}" && "$(printf '%s\n%s\n' "${newest}" "${RUNTIME_GLIBC}" | sort -V | tail -n 1)" != "${RUNTIME_GLIBC}" ]]; then
    echo "package: ${bootstrap} needs glibc ${newest}, newer than the ${RUNTIME_GLIBC} of provided.al2023:" >&2
    echo "package: it would fail to start on Lambda. Build with zig (${VENV}/bin/pip install ziglang) instead." >&2
    exit 1
  fi
  glibc_note=", needs glibc >= ${newest:-?} (runtime has ${RUNTIME_GLIBC})"
fi

size() { numfmt --to=iec-i --suffix=B --format=%.2f "$(stat -c %s "$1")"; }
{
  echo "package: ${arch} (${triple})${glibc_note}; binary $(size "${bootstrap}"), zip $(size "${zip}")"
  if [[ "${arch}" != arm64 ]]; then
    echo "package: note: template.yaml deploys arm64; this ${arch} package needs Architectures: [${arch}] (make release's dist/template-${arch}.yaml has it)."
  fi
} >&2
printf 'binary %s\nzip %s\n' "${bootstrap}" "${zip}"
