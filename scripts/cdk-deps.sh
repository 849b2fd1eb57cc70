#!/usr/bin/env bash
# Installs a Node package's locked dependencies (npm ci), skipped while
# node_modules was installed from the same package-lock.json:
#   scripts/cdk-deps.sh construct     the construct library's build tools (jsii, jsii-pacmak)
#   scripts/cdk-deps.sh [examples/cdk] the CDK example, which installs the
#       construct library from ../../construct as its packed copy (.npmrc
#       install-links): build that first (scripts/construct-build.sh); the
#       install is redone whenever its npm tarball changes.
# Used by scripts/construct-build.sh, scripts/cdk-check.sh and
# scripts/cdk-framework-test.sh.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
dir="${1:-examples/cdk}"
cd "${ROOT}/${dir}"
export npm_config_update_notifier=false
lock_sum="$(sha256sum package-lock.json | cut -d' ' -f1)"
if [[ "${dir}" == examples/cdk ]]; then
  shopt -s nullglob
  tarballs=("${ROOT}"/construct/dist/npm/*.tgz)
  shopt -u nullglob
  if ((${#tarballs[@]} != 1)); then
    echo "cdk-deps: examples/cdk needs the construct library built (scripts/construct-build.sh): construct/dist/npm/ has ${#tarballs[@]} tarballs" >&2
    exit 1
  fi
  lock_sum="${lock_sum} $(sha256sum "${tarballs[0]}" | cut -d' ' -f1)"
fi
stamp="node_modules/.cdk-deps.stamp"
if [[ ! -f "${stamp}" || "$(cat "${stamp}")" != "${lock_sum}" ]]; then
  npm ci --no-audit --no-fund --prefer-offline --loglevel=error
  printf '%s\n' "${lock_sum}" >"${stamp}"
fi
