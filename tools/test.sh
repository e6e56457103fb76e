#!/usr/bin/env bash
# The test command: installs what is missing (tools/setup.sh), builds with zero
# warnings allowed in the project's own code, and runs every test.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
tools/setup.sh

log=$(mktemp)
trap 'rm -f "$log"' EXIT
swift build --build-tests 2>&1 | tee "$log"
# Warnings in our own sources fail the build (dependencies are not ours to fix).
if grep -E "^$root/(Sources|Tests)/.*warning:" "$log" | sort -u | grep .; then
  echo "test.sh: the build has warnings (above)" >&2
  exit 1
fi
swift test --skip-build "$@"
