#!/usr/bin/env bash
# The project's Swift layout, by swift-format (from the toolchain) and .swift-format.
#   tools/format.sh          reformat every Swift file in place
#   tools/format.sh --check  fail, naming file and line, where a file differs
# Generated code (*/Generated/) is the generator's to lay out.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
if ! swift format --version >/dev/null 2>&1; then
  echo "format.sh: swift format is not in this toolchain; layout not checked" >&2
  exit 0
fi
# Symbolic links (tools/fuzz compiles some CLI files in place) are laid out where they point.
files=$(git ls-files --cached --others --exclude-standard '*.swift' | grep -v '/Generated/' | while read -r f; do
  [ -L "$f" ] || echo "$f"
done)
if [ "${1:-}" = "--check" ]; then
  # shellcheck disable=SC2086
  swift format lint --strict --parallel $files
  echo "format.sh --check: every Swift file is laid out as .swift-format says"
else
  # shellcheck disable=SC2086
  swift format format --in-place --parallel $files
fi
