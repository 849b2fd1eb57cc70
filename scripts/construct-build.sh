#!/usr/bin/env bash
# Builds the CDK construct library (construct/, `make construct`) from the
# release's function packages, and packages it for npm and PyPI:
#   1. its locked build tools (npm ci: jsii, jsii-pacmak, aws-cdk-lib);
#   2. the function's zips of dist/ (`make release`, which must have run)
#      become its assets, construct/asset/ARCH/bootstrap.zip: x86_64, and
#      arm64 when the release has it;
#   3. jsii compiles src/ to lib/ and the assembly .jsii;
#   4. its tests (node --test test/): the constructs in stacks of their own,
#      and that the props follow the README's Properties table;
#   5. `npm pack` -> construct/dist/npm/cdk-sagemaker-image-version-VERSION.tgz;
#   6. `jsii-pacmak --targets python --code-only` generates the Python package,
#      which the pinned tools of .venv-construct (scripts/requirements/construct.txt)
#      build into construct/dist/pypi/cdk_sagemaker_image_version-VERSION-py3-none-any.whl
#      and check with twine.
# Prints the tarball's and the wheel's paths on stdout.
# Usage (from anywhere): scripts/construct-build.sh
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
LIB="${ROOT}/construct"
version="$(python3 "${ROOT}/scripts/release.py" version)"
export npm_config_update_notifier=false
# jsii's tools warn at length on every run about Node.js 20's end of life.
export JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION=20
export JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION=1
start=${SECONDS}

# 1.
"${ROOT}/scripts/cdk-deps.sh" construct

# 2.
rm -rf "${LIB}/asset"
bundled=()
for arch in x86_64 arm64; do
  zip="${ROOT}/dist/sagemaker-image-version-${version}-${arch}.zip"
  [[ -f "${zip}" ]] || continue
  mkdir -p "${LIB}/asset/${arch}"
  cp "${zip}" "${LIB}/asset/${arch}/bootstrap.zip"
  bundled+=("${arch}")
done
if [[ " ${bundled[*]} " != *" x86_64 "* ]]; then
  echo "construct-build: dist/sagemaker-image-version-${version}-x86_64.zip is missing: run make release first" >&2
  exit 1
fi
# The package's LICENSE is the project's.
cp "${ROOT}/LICENSE" "${LIB}/LICENSE"

cd "${LIB}"
# 3.
rm -rf lib dist .jsii tsconfig.tsbuildinfo
npx --no-install jsii --silence-warnings=reserved-word >&2

# 4.
node --test test/ >&2

# 5.
mkdir -p dist/npm
npm pack --pack-destination dist/npm --loglevel=error >/dev/null
tarball="dist/npm/cdk-sagemaker-image-version-${version}.tgz"
[[ -f "${tarball}" ]] || { echo "construct-build: npm pack wrote no ${tarball}" >&2; exit 1; }

# 6.
npx --no-install jsii-pacmak --targets python --code-only >&2
"${ROOT}/scripts/python-tools.sh" construct
py="${ROOT}/.venv-construct/bin/python"
"${py}" -m build --wheel --no-isolation --outdir dist/pypi dist/python >dist/pypi-build.log 2>&1 \
  || { cat dist/pypi-build.log >&2; exit 1; }
wheel="dist/pypi/cdk_sagemaker_image_version-${version}-py3-none-any.whl"
[[ -f "${wheel}" ]] || { echo "construct-build: the build wrote no ${wheel}" >&2; exit 1; }
"${py}" -m twine check --strict "${wheel}" >&2

size() { numfmt --to=iec-i --suffix=B --format=%.2f "$(stat -c %s "$1")"; }
echo "construct-build: bundles ${bundled[*]}; $(basename "${tarball}") $(size "${tarball}"), $(basename "${wheel}") $(size "${wheel}"); $((SECONDS - start)) s" >&2
printf '%s\n' "${LIB}/${tarball}" "${LIB}/${wheel}"
