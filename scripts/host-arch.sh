#!/usr/bin/env bash
# Prints this machine's architecture as Lambda names it (x86_64 or arm64);
# fails on any other. One home for the mapping every script needs.
set -euo pipefail
case "$(uname -m)" in
  x86_64 | amd64) echo x86_64 ;;
  aarch64 | arm64) echo arm64 ;;
  *) echo "unsupported host architecture $(uname -m)" >&2; exit 1 ;;
esac
