#!/usr/bin/env bash
# The test command: installs what is missing (tools/setup.sh), checks the layout
# (tools/format.sh --check), builds with zero
# warnings allowed in the project's own code, starts a throwaway PostgreSQL on
# 127.0.0.1 (tools/test-postgres.sh), and runs every test.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
tools/setup.sh
tools/format.sh --check

log=$(mktemp)
stop_postgres() { :; }
# The tests' temporary files (daemons', Redis's and HAProxy's directories) in a
# directory of this run's own: whatever a test left running there (a fixture whose
# test process died before it could stop it) is killed at the end, and only that.
run_tmp=$(mktemp -d -t backtest-tests.XXXXXX)
export TMPDIR="$run_tmp"
cleanup() {
  rm -f "$log"
  stop_postgres
  pkill -9 -f -- "$run_tmp" 2>/dev/null || true
  # redis-server rewrites its command line: found by its working directory instead.
  for cwd in /proc/[0-9]*/cwd; do
    case "$(readlink "$cwd" 2>/dev/null)" in
      "$run_tmp"/*) pid=${cwd#/proc/}; kill -9 "${pid%/cwd}" 2>/dev/null || true ;;
    esac
  done
  rm -rf "$run_tmp"
}
trap cleanup EXIT
# A throwaway PostgreSQL for the PG-wire tests (sets BACKTEST_TEST_PG).
source tools/test-postgres.sh
swift build --build-tests 2>&1 | tee "$log"
# Warnings in our own sources fail the build (dependencies are not ours to fix).
if grep -E "^$root/(Sources|Tests)/.*warning:" "$log" | sort -u | grep .; then
  echo "test.sh: the build has warnings (above)" >&2
  exit 1
fi
# Each run of the tests has a time limit far above its longest run on a loaded machine:
# a test process that hangs (seen once, after another test process crashed) fails the
# run with a message instead of holding CI until its own limit.
phase() {
  local limit=$1 status=0
  shift
  timeout --kill-after=30 "$limit" swift test --skip-build "$@" || status=$?
  if [ "$status" = 124 ] || [ "$status" = 137 ]; then
    echo "test.sh: swift test $* did not end within $limit: stopped" >&2
  fi
  return "$status"
}
if [ $# -gt 0 ]; then
  swift test --skip-build "$@"
else
  # On their own after the rest: the QuestDB fault suite starts, kills and restarts
  # JVMs for minutes, and the cluster's sweeps hold every core of three nodes (their
  # load would crowd the other suites' servers); the QuestDB deletion suite checks what
  # a purge leaves, and every backtestd on the shared QuestDB purges as it starts.
  phase 40m --skip QuestDBFaultTests --skip ClusterSweepTests --skip QuestDBDeletionTests
  phase 15m --filter QuestDBDeletionTests
  phase 20m --filter ClusterSweepTests
  phase 30m --filter QuestDBFaultTests
fi
