#!/usr/bin/env bash
# `make mutants`: cargo-mutants (pinned, installed from crates.io on first
# use) over src/lifecycle/ and src/properties/, with the scope and the test
# command of .cargo/mutants.toml. The tree under test is a copy, so the
# working tree stays free; the report is target/mutants/mutants.out/
# (caught.txt, missed.txt, ...). Extra arguments go to cargo mutants, e.g.
#   scripts/mutants.sh --file src/lifecycle/delete.rs
# Equivalent mutants (no test can tell them apart) are listed with why in
# docs/testing.md.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "${ROOT}"
VERSION=25.3.1
if [[ "$(cargo mutants --version 2>/dev/null)" != "cargo-mutants ${VERSION}" ]]; then
  echo "mutants: installing cargo-mutants ${VERSION} (a few minutes, once)" >&2
  cargo install --locked cargo-mutants --version "${VERSION}"
fi
mkdir -p target/mutants
exec cargo mutants --output target/mutants "$@"
