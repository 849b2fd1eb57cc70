#!/usr/bin/env bash
# The packaged function behind CDK's Provider framework, unmodified
# (examples/cdk/framework/):
#   1. installs the CDK example (scripts/cdk-deps.sh), with the construct
#      library as a user gets it (the suite reads the waiter's retries from
#      its construct), builds the stand-ins (debug), and unpacks the function
#      the library bundles for this machine's architecture,
#   2. starts `standins serve` over TLS with a throw-away CA: the function
#      with PROVIDER_FRAMEWORK=cdk behind Lambda's Invoke API, Step Functions'
#      StartExecution, the SageMaker stand-in, and the response receiver on
#      127.0.0.1:443 (the framework PUTs its answer to port 443; root, or
#      CAP_NET_BIND_SERVICE, is needed),
#   3. runs the suite (node --test framework/) with the CA trusted through
#      NODE_EXTRA_CA_CERTS and the stand-ins' URLs in STANDINS.
# The logs: target/local/cdk-framework-standins.log (the stand-ins and the
# function), target/local/cdk-framework.log (the framework's runtime).
# Usage (from anywhere): scripts/cdk-framework-test.sh
set -euo pipefail

SCRIPT_NAME=cdk-framework-test
# shellcheck source=scripts/local-common.sh
source "$(dirname "${BASH_SOURCE[0]}")/local-common.sh"
APP="${ROOT}/examples/cdk"
RECEIVER=127.0.0.1:443

"${ROOT}/scripts/cdk-deps.sh"
build_binaries
arch="$("${ROOT}/scripts/host-arch.sh")"
package="${APP}/node_modules/cdk-sagemaker-image-version/asset/${arch}/bootstrap.zip"
[[ -f "${package}" ]] || { echo "${SCRIPT_NAME}: the installed construct library bundles no ${arch} package (${package})" >&2; exit 1; }

if listening "${RECEIVER}"; then
  echo "${SCRIPT_NAME}: ${RECEIVER} is already in use (see: ss -ltnp)" >&2
  exit 1
fi
tmp="$(mktemp -d)"
trap 'stop_groups; rm -rf "${tmp}"' EXIT
"${ROOT}/.venv/bin/python" -m zipfile -e "${package}" "${tmp}/function"
chmod 0755 "${tmp}/function/bootstrap"
mkdir -p "${TARGET_DIR}/local"
log="${TARGET_DIR}/local/cdk-framework-standins.log"
start_standins "${log}" --tls-ca "${tmp}/ca.pem" --receiver "${RECEIVER}" \
  --sagemaker 127.0.0.1:0 --lambda 127.0.0.1:0 --sfn 127.0.0.1:0 \
  --function "${tmp}/function/bootstrap" --function-env PROVIDER_FRAMEWORK=cdk

framework_log="${TARGET_DIR}/local/cdk-framework.log"
: >"${framework_log}"
cd "${APP}"
STANDINS="$(grep -m1 '^sagemaker=' "${log}")" NODE_EXTRA_CA_CERTS="${tmp}/ca.pem" FRAMEWORK_LOG="${framework_log}" \
  node --test framework/
