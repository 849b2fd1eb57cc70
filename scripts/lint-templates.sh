#!/usr/bin/env bash
# Lints the CloudFormation templates:
#   - cfn-lint on template.yaml (SAM provider) and examples/*.yaml; cfn-lint
#     exits nonzero on warnings as well as errors, and that is kept;
#   - `sam validate --lint` on template.yaml (SAM transform + cfn-lint);
#   - every Custom::SageMakerImageVersion in examples/*.yaml has a
#     ServiceToken, ImageName, BaseImage and a ServiceTimeout of 1-3600
#     seconds (cfn-lint does not check custom resources' properties).
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

"${VENV}/bin/cfn-lint" -- template.yaml "${examples[@]}"

# sam prints "... is a valid SAM Template" on success: show its output only
# when it fails.
if ! sam_out="$("${VENV}/bin/sam" validate --lint --template template.yaml 2>&1)"; then
  printf '%s\n' "${sam_out}" >&2
  exit 1
fi

if ((${#examples[@]})); then
  "${VENV}/bin/python" - "${examples[@]}" <<'PY'
import sys
from cfnlint.decode import decode

failed = False
for path in sys.argv[1:]:
    template, matches = decode(path)
    if matches:
        for m in matches:
            print(f"{path}: {m}", file=sys.stderr)
        failed = True
        continue
    for name, res in (template.get("Resources") or {}).items():
        if res.get("Type") != "Custom::SageMakerImageVersion":
            continue
        props = res.get("Properties") or {}
        where = f"{path}: {name}"
        for key in ("ServiceToken", "ImageName", "BaseImage"):
            if key not in props:
                print(f"{where}: missing {key}", file=sys.stderr)
                failed = True
        timeout = props.get("ServiceTimeout")
        try:
            ok = isinstance(timeout, (str, int)) and not isinstance(timeout, bool) \
                and 1 <= int(str(timeout)) <= 3600
        except ValueError:
            ok = False
        if not ok:
            print(f"{where}: ServiceTimeout must be a number of seconds from 1 to 3600, "
                  f"got {timeout!r}", file=sys.stderr)
            failed = True
sys.exit(1 if failed else 0)
PY
fi
