#!/usr/bin/env bash
# Tests the release in dist/ (`make release` first), as a user receives it:
#   1. the sums: `sha256sum -c SHA256SUMS` passes, it lists every file of
#      dist/ and only those, and a changed byte fails it;
#   2. each zip holds exactly one file, `bootstrap`, executable, built for the
#      architecture its name and its template say;
#   3. each packaged template names its zip and passes cfn-lint (with the
#      repo's rules) and `sam validate --lint`; its SAR metadata and the
#      versions agree (scripts/release.py check);
#      the README's SAM quick start: its sha256sum line passes in dist/, and
#      its sam deploy names one of these templates; docs/deploy.md's
#      nested-application snippet passes cfn-lint;
#   4. the zip for this machine's architecture, unpacked, runs one Create and
#      its Delete against the stand-ins (`standins demo`, events/create.json
#      then events/delete-replaced.json, which deletes version 1): both
#      answered SUCCESS as standins/src/local.rs expects, and SageMaker got
#      CreateImageVersion and DeleteImageVersion.
# Needs the stand-ins (cargo build --workspace --bins, which it runs) and the
# tools of scripts/python-tools.sh. No AWS account is needed.
# Usage (from anywhere): scripts/release-test.sh
set -euo pipefail

SCRIPT_NAME=release-test
# shellcheck source=scripts/local-common.sh
source "$(dirname "${BASH_SOURCE[0]}")/local-common.sh"
cd "${ROOT}"
DIST="${ROOT}/dist"
VENV="${ROOT}/.venv"
version="$(python3 scripts/release.py version)"
fail() { echo "${SCRIPT_NAME}: FAILED: $*" >&2; exit 1; }
[[ -f "${DIST}/SHA256SUMS" ]] || fail "no ${DIST}/SHA256SUMS: run make release first"
"${ROOT}/scripts/python-tools.sh"
tmp="$(mktemp -d)"
trap 'rm -rf "${tmp}"' EXIT

# 1. The sums.
(cd "${DIST}" && sha256sum --quiet --strict -c SHA256SUMS) || fail "sha256sum -c SHA256SUMS"
listed="$(awk '{ print $2 }' "${DIST}/SHA256SUMS" | LC_ALL=C sort)"
present="$(cd "${DIST}" && find . -maxdepth 1 -type f ! -name SHA256SUMS -printf '%f\n' | LC_ALL=C sort)"
[[ "${listed}" == "${present}" ]] || fail "SHA256SUMS lists: ${listed//$'\n'/ }; dist/ has: ${present//$'\n'/ }"
cp -r "${DIST}" "${tmp}/tampered"
printf 'x' >>"${tmp}/tampered/README.md"
if (cd "${tmp}/tampered" && sha256sum --quiet --status -c SHA256SUMS); then
  fail "sha256sum -c passed with a changed README.md"
fi

# 2. and 3. Each package and its template.
host="$("${ROOT}/scripts/host-arch.sh")"
shopt -s nullglob
zips=("${DIST}/sagemaker-image-version-${version}-"*.zip)
shopt -u nullglob
((${#zips[@]} > 0)) || fail "no sagemaker-image-version-${version}-*.zip in dist/"
host_zip=""
for zip in "${zips[@]}"; do
  name="$(basename "${zip}")"
  arch="${name#sagemaker-image-version-"${version}"-}"
  arch="${arch%.zip}"
  entries="$("${VENV}/bin/python" -m zipfile -l "${zip}" | awk 'NR > 1 { print $1 }')"
  [[ "${entries}" == bootstrap ]] || fail "${name} holds ${entries//$'\n'/ }, not just bootstrap"
  mkdir -p "${tmp}/${arch}"
  "${VENV}/bin/python" -m zipfile -e "${zip}" "${tmp}/${arch}"
  # Python's zipfile drops the mode: read it from the zip's entry.
  mode="$("${VENV}/bin/python" -c 'import sys, zipfile; print(oct(zipfile.ZipFile(sys.argv[1]).getinfo("bootstrap").external_attr >> 16 & 0o777))' "${zip}")"
  [[ "${mode}" == 0o755 ]] || fail "${name}: bootstrap has mode ${mode}, not 0o755"
  chmod "${mode#0o}" "${tmp}/${arch}/bootstrap"
  machine="$(LC_ALL=C readelf -h "${tmp}/${arch}/bootstrap" | sed -n 's/^ *Machine: *//p')"
  case "${arch}:${machine}" in
    x86_64:*X86-64* | arm64:*AArch64*) ;;
    *) fail "${name}: bootstrap is for ${machine}" ;;
  esac
  template="${DIST}/template-${arch}.yaml"
  [[ -f "${template}" ]] || fail "no template-${arch}.yaml beside ${name}"
  grep -qx "      CodeUri: ./${name}" "${template}" || fail "template-${arch}.yaml's CodeUri is not ./${name}"
  grep -qx "        - ${arch}" "${template}" || fail "template-${arch}.yaml does not deploy ${arch}"
  ! grep -q 'BuildMethod' "${template}" || fail "template-${arch}.yaml still builds from source"
  "${VENV}/bin/cfn-lint" --append-rules scripts/cfn-lint-rules -- "${template}" || fail "cfn-lint ${template}"
  out="$(cd "${DIST}" && SAM_CLI_TELEMETRY=0 AWS_DEFAULT_REGION=us-east-1 "${VENV}/bin/sam" validate --lint --template "${template}" 2>&1)" \
    || { printf '%s\n' "${out}" >&2; fail "sam validate --lint ${template}"; }
  [[ "${arch}" == "${host}" ]] && host_zip="${zip}"
done
python3 scripts/release.py check || fail "the versions and the SAR metadata"

# The README's SAM/CloudFormation quick start, in dist/ as in a release's
# files: its sha256sum line runs as it stands; its sam deploy (which needs an
# AWS account) names a template of dist/, the one checked above.
sam_block="$(awk '/^### SAM\/CloudFormation:/ { inside = 1; next } inside && /^#+ / { exit }
  inside && !open && $0 == "```sh" { open = 1; next } open && $0 == "```" { exit } open { print }' README.md)"
sums_line="$(grep '^sha256sum ' <<<"${sam_block}")" || fail "README's SAM block has no sha256sum line"
(cd "${DIST}" && eval "${sums_line}" >/dev/null) || fail "README's '${sums_line}' in dist/"
deployed="$(grep -o -- '--template-file [^ ]*' <<<"${sam_block}" | cut -d' ' -f2)"
[[ -n "${deployed}" && -f "${DIST}/${deployed}" ]] || fail "README's sam deploy names '${deployed}', which dist/ does not have"
# docs/deploy.md's nested application (the SAR door) passes cfn-lint and the repo's rule.
awk '/^## Serverless Application Repository/ { inside = 1 } inside && $0 == "```yaml" { open = 1; next }
  open && $0 == "```" { exit } open { print }' docs/deploy.md >"${tmp}/nested.yaml"
grep -q 'AWS::Serverless::Application' "${tmp}/nested.yaml" || fail "docs/deploy.md has no nested-application snippet"
"${VENV}/bin/cfn-lint" --append-rules scripts/cfn-lint-rules -- "${tmp}/nested.yaml" || fail "cfn-lint on docs/deploy.md's nested application"
[[ -n "${host_zip}" ]] || fail "dist/ has no package for this ${host} machine to run"

# 4. The unpacked bootstrap through one Create and its Delete.
build_binaries >/dev/null 2>&1 || build_binaries || fail "cargo build --workspace --bins"
load_addrs
require_free_ports
out="$("${STANDINS}" demo --function "${tmp}/${host}/bootstrap" events/create.json events/delete-replaced.json 2>&1)" \
  || { printf '%s\n' "${out}" >&2; fail "standins demo with the released bootstrap"; }
calls="$(grep '^SageMaker calls:' <<<"${out}")"
for call in CreateImageVersion DeleteImageVersion; do
  [[ " ${calls} " == *" ${call} "* ]] || { printf '%s\n' "${out}" >&2; fail "SageMaker got no ${call}"; }
done
[[ "$(grep -c '"Status": "SUCCESS"' <<<"${out}")" == 2 ]] || { printf '%s\n' "${out}" >&2; fail "not two SUCCESS answers"; }
echo "${SCRIPT_NAME}: ${#zips[@]} package(s) of ${version}: sums, contents, templates; $(basename "${host_zip}") ran Create and Delete (${calls})"
