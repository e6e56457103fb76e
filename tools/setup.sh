#!/usr/bin/env bash
# Installs what the build and the tests need on a fresh Debian machine that has the
# Swift toolchain: Debian's C libraries and tools, and the test venv in .venv.
# Idempotent: a second run installs nothing new.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"

apt_packages=(libnghttp2-dev libhttp-parser-dev libhiredis-dev redis-server haproxy libprotobuf-c-dev protobuf-c-compiler protobuf-compiler libssl-dev zlib1g-dev libsqlite3-dev libpq-dev libcurl4-openssl-dev postgresql nghttp2-client curl tmux openssl)
# The dashboard's chart library (embedded at build time from /usr/share/javascript/dygraphs),
# and the browser its tests drive (headless, through Selenium from the venv).
apt_packages+=(libjs-dygraphs chromium chromium-driver)
# Debian's own python3 needs python3-venv for `python3 -m venv`.
python3 -c 'import ensurepip' 2>/dev/null || apt_packages+=(python3-venv)
missing=()
for p in "${apt_packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]}"
  sudo_cmd=""
  [ "$(id -u)" = 0 ] || sudo_cmd="sudo"
  $sudo_cmd apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq "${missing[@]}" >/dev/null
  # The build includes the chart library only if it was there when CDygraphs compiled
  # (a file the assembler reads is no dependency SwiftPM knows of): compile it again.
  if [[ " ${missing[*]} " == *" libjs-dygraphs "* ]]; then touch Sources/CDygraphs/dygraphs.c; fi
fi

# The venv is rebuilt when the requirements change.
stamp=.venv/.requirements
if [ ! -x .venv/bin/python ] || ! cmp -s tools/requirements-test.txt "$stamp"; then
  echo "setup: creating .venv"
  python3 -m venv .venv
  .venv/bin/pip install -q --disable-pip-version-check -r tools/requirements-test.txt
  cp tools/requirements-test.txt "$stamp"
fi
echo "setup: ready"
