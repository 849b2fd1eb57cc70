#!/usr/bin/env bash
# The release artifacts (`make release`), into dist/ (emptied first):
#   sagemaker-image-version-VERSION-ARCH.zip   the function's package, by
#       scripts/package.sh (cargo lambda build --release --output-format zip):
#       x86_64 always; arm64 too where this machine can build it (the Rust
#       standard library for aarch64-unknown-linux-gnu installed, and zig, or
#       an arm64 machine), else skipped with a note;
#   template-ARCH.yaml   template.yaml with the function's code at that zip
#       (CodeUri) and Architectures [ARCH], no build step: `sam deploy`,
#       `sam package` and `sam publish` take it as it is;
#   LICENSE, README.md   what the template's AWS::ServerlessRepo::Application
#       metadata points at (sam package uploads them for the Serverless
#       Application Repository);
#   SHA256SUMS           `sha256sum` of every other file of dist/.
# VERSION is Cargo.toml's; the release refuses to start while the construct
# library, template.yaml or CHANGELOG.md names another (scripts/release.py check).
# ARCHES="x86_64" (or "arm64", or both, the default) picks the architectures;
# one named explicitly that cannot be built fails the release.
# Prints the paths it wrote on stdout, one a line.
# Usage (from anywhere): scripts/release.sh       ARCHES=x86_64 scripts/release.sh
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "${ROOT}"
DIST="${ROOT}/dist"
BIN=sagemaker-image-version
# One release at a time (CI starts one in the background while the Rust
# suites run, and `make test`'s own waits for it, then finds cargo's work done).
mkdir -p "${ROOT}/target"
exec 8>"${ROOT}/target/release.lock"
flock 8
version="$(python3 "${ROOT}/scripts/release.py" version)"
python3 "${ROOT}/scripts/release.py" check
"${ROOT}/scripts/python-tools.sh"

explicit=1
if [[ -z "${ARCHES:-}" ]]; then
  ARCHES="x86_64 arm64"
  explicit=0
fi

host="$("${ROOT}/scripts/host-arch.sh")"
sysroot="$(rustc --print sysroot)"
# can_build ARCH: the target's standard library is installed, and either ARCH
# is this machine's or zig is there to cross-compile (scripts/package.sh).
can_build() {
  local triple
  case "$1" in
    x86_64) triple=x86_64-unknown-linux-gnu ;;
    arm64) triple=aarch64-unknown-linux-gnu ;;
    *) echo "release: unknown architecture $1 (x86_64 or arm64)" >&2; exit 1 ;;
  esac
  if [[ ! -d "${sysroot}/lib/rustlib/${triple}/lib" ]]; then
    WHY="the Rust standard library for ${triple} is not installed (rustup target add ${triple})"
    return 1
  fi
  if [[ "$1" != "${host}" ]] && ! command -v zig >/dev/null \
    && ! "${ROOT}/.venv/bin/python" -m ziglang version >/dev/null 2>&1; then
    WHY="cross-compiling needs zig (${ROOT}/.venv/bin/pip install ziglang)"
    return 1
  fi
}

rm -rf "${DIST}"
mkdir -p "${DIST}"
built=()
for arch in ${ARCHES}; do
  WHY=""
  if ! can_build "${arch}"; then
    if ((explicit)) || [[ "${arch}" == "${host}" ]]; then
      echo "release: cannot build ${arch}: ${WHY}" >&2
      exit 1
    fi
    echo "release: skipping ${arch}: ${WHY}" >&2
    continue
  fi
  zip="$(ARCH="${arch}" "${ROOT}/scripts/package.sh" | sed -n 's/^zip //p')"
  [[ -f "${zip}" ]] || { echo "release: scripts/package.sh named no zip for ${arch}" >&2; exit 1; }
  name="${BIN}-${version}-${arch}.zip"
  cp "${zip}" "${DIST}/${name}"
  python3 "${ROOT}/scripts/release.py" template "${arch}" "${name}" "${DIST}/template-${arch}.yaml"
  built+=("${arch}")
done
((${#built[@]} > 0)) || { echo "release: no architecture built" >&2; exit 1; }

cp LICENSE README.md "${DIST}/"
(cd "${DIST}" && find . -maxdepth 1 -type f ! -name SHA256SUMS -printf '%f\n' | LC_ALL=C sort | xargs sha256sum -- >SHA256SUMS)

size() { numfmt --to=iec-i --suffix=B --format=%.2f "$(stat -c %s "$1")"; }
for arch in "${built[@]}"; do
  echo "release: ${version} ${arch}: ${BIN}-${version}-${arch}.zip $(size "${DIST}/${BIN}-${version}-${arch}.zip")" >&2
done
find "${DIST}" -maxdepth 1 -type f | LC_ALL=C sort
