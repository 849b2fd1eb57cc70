#!/usr/bin/env bash
# The construct library's packages as users install them (`make construct`
# builds them first): the README's quick starts, run as they stand but for
# the package they install, which is the one just built.
#   1. TypeScript: a fresh npm project with TypeScript (what `cdk init app
#      --language typescript` gives), the README's `npm install` line with the
#      npm tarball for cdk-sagemaker-image-version, the README's app compiled
#      and run; it writes cdk.out/ as `cdk synth` would (CDK_OUTDIR).
#   2. Python: a fresh venv, the README's `pip install` line with the wheel
#      for cdk-sagemaker-image-version, the README's app run the same way.
#   3. Both synthesized stacks pass cfn-lint with the repo's rules, hold the
#      two versions, one through CDK's Provider framework and one wired to
#      the function, with the function's architecture that of the bundled
#      package (construct/test-apps/), and are the same stack.
#   The library's README carries the same blocks: they must not differ.
# The versions of aws-cdk-lib, constructs (and jsii for Python) are those the
# library is built and tested with: construct/package-lock.json, and
# scripts/requirements/construct-app.txt as pip constraints; TypeScript's is
# examples/cdk/package-lock.json's. No AWS account is needed.
# Usage (from anywhere): scripts/construct-test.sh
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
LIB="${ROOT}/construct"
SCRIPT_NAME=construct-test
version="$(python3 "${ROOT}/scripts/release.py" version)"
tarball="${LIB}/dist/npm/cdk-sagemaker-image-version-${version}.tgz"
wheel="${LIB}/dist/pypi/cdk_sagemaker_image_version-${version}-py3-none-any.whl"
fail() { echo "${SCRIPT_NAME}: FAILED: $*" >&2; exit 1; }
for f in "${tarball}" "${wheel}"; do
  [[ -f "${f}" ]] || fail "${f} is missing: run scripts/construct-build.sh (make construct) first"
done
"${ROOT}/scripts/python-tools.sh"
export npm_config_update_notifier=false npm_config_fund=false npm_config_audit=false
export JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION=20 JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION=1
export PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_INPUT=1 PIP_REQUIRE_VIRTUALENV=0 PIP_USER=0
tmp="$(mktemp -d)"
trap 'rm -rf "${tmp}"' EXIT
start=${SECONDS}

# block FILE HEADING LANG: the first ```LANG block of the section whose
# heading starts with HEADING (such as '### CDK Python:').
block() {
  awk -v heading="$2" -v lang="$3" '
    index($0, heading) == 1 { inside = 1; next }
    inside && /^#+ / { exit }
    inside && !open && $0 == "```" lang { open = 1; next }
    open && $0 == "```" { exit }
    open { print }' "$1"
}
locked() { node -p "require('$1').packages['node_modules/$2'].version"; }
cdk_lib="$(locked "${LIB}/package-lock.json" aws-cdk-lib)"
constructs="$(locked "${LIB}/package-lock.json" constructs)"
typescript="$(locked "${ROOT}/examples/cdk/package-lock.json" typescript)"
for pin in "aws-cdk-lib==${cdk_lib}" "constructs==${constructs}"; do
  grep -qx "${pin}" "${ROOT}/scripts/requirements/construct-app.txt" \
    || fail "scripts/requirements/construct-app.txt does not pin ${pin}, the version of construct/package-lock.json"
done

# The blocks, from the README; the library's README must carry the same.
ts_install="$(block "${ROOT}/README.md" "### CDK TypeScript:" sh)"
ts_app="$(block "${ROOT}/README.md" "### CDK TypeScript:" ts)"
py_install="$(block "${ROOT}/README.md" "### CDK Python:" sh)"
py_app="$(block "${ROOT}/README.md" "### CDK Python:" python)"
for b in ts_install ts_app py_install py_app; do
  [[ -n "${!b}" ]] || fail "README.md: no ${b//_/ } block under its quick start heading"
done
[[ "${ts_install}" == "npm install cdk-sagemaker-image-version "* ]] || fail "README's npm line: ${ts_install}"
[[ "${py_install}" == "pip install cdk-sagemaker-image-version "* ]] || fail "README's pip line: ${py_install}"
[[ "$(block "${LIB}/README.md" "## TypeScript" sh)" == "${ts_install}" \
  && "$(block "${LIB}/README.md" "## TypeScript" ts)" == "${ts_app}" \
  && "$(block "${LIB}/README.md" "## Python" sh)" == "${py_install}" \
  && "$(block "${LIB}/README.md" "## Python" python)" == "${py_app}" ]] \
  || fail "construct/README.md's TypeScript and Python blocks differ from the README's quick start"

# 1. TypeScript.
app="${tmp}/ts-app"
mkdir -p "${app}"
(
  cd "${app}"
  npm init -y >/dev/null
  npm install --save-dev --prefer-offline --loglevel=error "typescript@${typescript}" >/dev/null
  # The README's line, with the tarball and the tested versions.
  line="${ts_install/cdk-sagemaker-image-version/${tarball}}"
  line="${line/aws-cdk-lib/aws-cdk-lib@${cdk_lib}}"
  line="${line/constructs/constructs@${constructs}}"
  eval "${line} --prefer-offline --loglevel=error" >/dev/null
  printf '%s\n' "${ts_app}" >app.ts
  printf '{"compilerOptions": {"target": "ES2022", "module": "commonjs", "strict": true, "skipLibCheck": true, "types": []}}\n' >tsconfig.json
  npx --no-install tsc
  CDK_OUTDIR=cdk.out node app.js
) || fail "the README's TypeScript app"
echo "${SCRIPT_NAME}: TypeScript app synthesized after $((SECONDS - start)) s" >&2

# 2. Python.
app="${tmp}/py-app"
mkdir -p "${app}"
(
  cd "${app}"
  python3 -m venv .venv
  # shellcheck disable=SC1091
  source .venv/bin/activate
  line="${py_install/cdk-sagemaker-image-version/${wheel}}"
  PIP_CONSTRAINT="${ROOT}/scripts/requirements/construct-app.txt" eval "${line} -q" \
    || { echo "pip: ${line}" >&2; exit 1; }
  printf '%s\n' "${py_app}" >app.py
  CDK_OUTDIR=cdk.out python app.py
) || fail "the README's Python app"
echo "${SCRIPT_NAME}: Python app synthesized after $((SECONDS - start)) s" >&2

# 3. What they synthesized.
ts_template="${tmp}/ts-app/cdk.out/Images.template.json"
py_template="${tmp}/py-app/cdk.out/Images.template.json"
# W3005: see scripts/cdk-check.sh (CDK's own DependsOn on a function's role).
"${ROOT}/.venv/bin/cfn-lint" --ignore-checks W3005 --append-rules "${ROOT}/scripts/cfn-lint-rules" \
  -- "${ts_template}" "${py_template}" || fail "cfn-lint on the synthesized templates"
TEMPLATES="${ts_template} ${py_template}" node --test --test-reporter=spec "${LIB}/test-apps/" >&2 \
  || fail "the synthesized stacks"
echo "${SCRIPT_NAME}: the README's TypeScript and Python apps installed ${version}'s packages and synthesized the same stack, in $((SECONDS - start)) s"
