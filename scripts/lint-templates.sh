#!/usr/bin/env bash
# Lints the CloudFormation templates:
#   - cfn-lint on template.yaml (SAM provider) and examples/*.yaml; cfn-lint
#     exits nonzero on warnings as well as errors, and that is kept;
#   - `sam validate --lint` on template.yaml (SAM transform + cfn-lint);
#   - every Custom::SageMakerImageVersion has a ServiceToken, ImageName,
#     BaseImage and a ServiceTimeout of 1-3600 seconds: the cfn-lint rule of
#     scripts/cfn-lint-rules (cfn-lint checks no custom resource's
#     properties), itself checked against tests/templates/.
# Needs the tools of scripts/python-tools.sh (run here first). No AWS account
# or credentials are needed.
# Usage (from anywhere): scripts/lint-templates.sh
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "${ROOT}"
"${ROOT}/scripts/python-tools.sh"
VENV="${ROOT}/.venv"

export SAM_CLI_TELEMETRY=0
export AWS_DEFAULT_REGION="${AWS_DEFAULT_REGION:-us-east-1}"
export AWS_REGION="${AWS_REGION:-${AWS_DEFAULT_REGION}}"

shopt -s nullglob
examples=(examples/*.yaml examples/*.yml)
shopt -u nullglob

RULES=(--append-rules scripts/cfn-lint-rules)
"${VENV}/bin/cfn-lint" "${RULES[@]}" -- template.yaml "${examples[@]}"

# sam prints "... is a valid SAM Template" on success: show its output only
# when it fails.
if ! sam_out="$("${VENV}/bin/sam" validate --lint --template template.yaml 2>&1)"; then
  printf '%s\n' "${sam_out}" >&2
  exit 1
fi

# The rule itself must catch what it is for: each resource of the fixture
# breaks it once.
expected=3
found="$("${VENV}/bin/cfn-lint" "${RULES[@]}" -- tests/templates/image-version-rule-violations.yaml 2>&1 | grep -c '^E9101 ' || true)"
if ((found != expected)); then
  echo "lint-templates: scripts/cfn-lint-rules flagged ${found} of the ${expected} violations in tests/templates/" >&2
  exit 1
fi
