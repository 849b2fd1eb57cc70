#!/usr/bin/env bash
# Installs the CDK example's locked dependencies (npm ci in examples/cdk),
# skipped while node_modules was installed from the same package-lock.json.
# Used by scripts/cdk-check.sh and scripts/cdk-framework-test.sh.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/../examples/cdk"
export npm_config_update_notifier=false
lock_sum="$(sha256sum package-lock.json | cut -d' ' -f1)"
stamp="node_modules/.cdk-check.stamp"
if [[ ! -f "${stamp}" || "$(cat "${stamp}")" != "${lock_sum}" ]]; then
  npm ci --no-audit --no-fund --prefer-offline --loglevel=error
  printf '%s\n' "${lock_sum}" >"${stamp}"
fi
