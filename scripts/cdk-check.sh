#!/usr/bin/env bash
# Checks the CDK example in examples/cdk, an app of the construct library:
#   1. installs its locked dependencies (scripts/cdk-deps.sh), the construct
#      library among them as its packed copy (scripts/construct-build.sh
#      builds it first, from the release's dist/),
#   2. synthesizes it (`cdk synth`, which compiles the TypeScript first),
#   3. lints the synthesized template(s) with cfn-lint and the repo's rules,
#   4. runs its tests (node --test test/): the synthesized template, the
#      functions' architecture read from the packages they deploy.
# No AWS account or credentials are needed.
# Usage (from anywhere): scripts/cdk-check.sh
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
APP="${ROOT}/examples/cdk"
"${ROOT}/scripts/python-tools.sh"

export CDK_DISABLE_VERSION_CHECK=1
export CDK_CLI_NOTICES=false
export CDK_DISABLE_CLI_TELEMETRY=true
export npm_config_update_notifier=false

cd "${APP}"

# 1. Dependencies, exactly as locked.
"${ROOT}/scripts/cdk-deps.sh"

# 2. Synthesize, from a clean build (tsc leaves the output of deleted sources).
rm -rf cdk.out build
npx --no-install cdk synth --quiet --no-notices

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
