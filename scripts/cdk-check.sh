#!/usr/bin/env bash
# Checks the CDK example in examples/cdk:
#   1. installs its locked dependencies (scripts/cdk-deps.sh),
#   2. synthesizes it (`cdk synth`, which compiles the TypeScript first),
#   3. lints the synthesized template(s) with cfn-lint,
#   4. runs its tests (node --test test/): the synthesized template, and the
#      SageMakerImageVersion construct (compiled by the synth) in stacks of its own.
# The app packages target/lambda/sagemaker-image-version/bootstrap.zip
# (`make package`). When that is not built (and BOOTSTRAP_ZIP is not set), a
# small placeholder zip in a temporary directory stands in for it: synth only
# hashes and copies the package, so the template is the same but for the
# asset hash. No AWS account or credentials are needed.
# Usage (from anywhere): scripts/cdk-check.sh
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
APP="${ROOT}/examples/cdk"
"${ROOT}/scripts/python-tools.sh"

export CDK_DISABLE_VERSION_CHECK=1
export CDK_CLI_NOTICES=false
export CDK_DISABLE_CLI_TELEMETRY=true
export npm_config_update_notifier=false

tmp="$(mktemp -d)"
trap 'rm -rf "${tmp}"' EXIT

cd "${APP}"

# 1. Dependencies, exactly as locked.
"${ROOT}/scripts/cdk-deps.sh"

# 2. Synthesize.
if [[ -n "${BOOTSTRAP_ZIP:-}" && ! -f "${BOOTSTRAP_ZIP}" ]]; then
  echo "cdk-check: BOOTSTRAP_ZIP=${BOOTSTRAP_ZIP} does not exist" >&2
  exit 1
fi
zip="${BOOTSTRAP_ZIP:-${ROOT}/target/lambda/sagemaker-image-version/bootstrap.zip}"
if [[ ! -f "${zip}" ]]; then
  zip="${tmp}/bootstrap.zip"
  # A zip holding an executable "bootstrap" that only fails: never deployed.
  printf '#!/bin/sh\necho "placeholder package: build it with make package" >&2\nexit 1\n' >"${tmp}/bootstrap"
  chmod 0755 "${tmp}/bootstrap"
  "${ROOT}/.venv/bin/python" -m zipfile -c "${zip}" "${tmp}/bootstrap"
fi
rm -rf cdk.out
npx --no-install cdk synth --quiet --no-notices -c "bootstrapZip=${zip}"

# 3. Lint what was synthesized. Ignored, for these generated templates only:
#   W3005 (redundant DependsOn): CDK's lambda.Function always adds an explicit
#   DependsOn on its execution role (so that the role's DefaultPolicy exists
#   before the function), although the Role GetAtt already orders the role
#   itself. CDK generates it; it is harmless and cannot be turned off.
shopt -s nullglob
templates=(cdk.out/*.template.json)
shopt -u nullglob
if ((${#templates[@]} == 0)); then
  echo "cdk-check: cdk synth wrote no template to ${APP}/cdk.out" >&2
  exit 1
fi
"${ROOT}/.venv/bin/cfn-lint" --ignore-checks W3005 --append-rules "${ROOT}/scripts/cfn-lint-rules" -- "${templates[@]}"

# 4. Test the synthesized template.
node --test test/
