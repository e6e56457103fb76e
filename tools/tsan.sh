#!/usr/bin/env bash
# The service and transport suites under ThreadSanitizer (docs/FUZZING.md):
#   tools/tsan.sh [FILTER]
# builds the package and its tests with -sanitize=thread in a scratch path of its own
# (TSAN_SCRATCH, default .build-tsan; the normal build is left alone), then runs the
# suites FILTER names (default: service, transport, core and RPC). Exits non-zero when
# a test fails; prints ThreadSanitizer's reports (the tests' and those of the daemons
# they start) counted by place, to compare with the known ones in docs/FUZZING.md.
# BUILD_LOCK=FILE runs the build under flock FILE (machines shared by several builds).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
scratch=${TSAN_SCRATCH:-$root/.build-tsan}
filter=${1:-'BacktestServiceTests|HTTP2TransportTests|BacktestCoreTests|RPCTests'}
# Release: ThreadSanitizer does not see Synchronization.Mutex's lock on Linux when it
# is not inlined (debug builds) or when it waits (the futex path of the uninstrumented
# library), and reports accesses inside withLock as races; in a release build only the
# second remains. -enable-testing keeps the suites' @testable imports.
build=(swift build -c release --build-tests -Xswiftc -sanitize=thread -Xswiftc -enable-testing
  --scratch-path "$scratch")
if [ -n "${BUILD_LOCK:-}" ]; then flock "$BUILD_LOCK" "${build[@]}"; else "${build[@]}"; fi

reports=$(mktemp -d /tmp/tsan-reports.XXXXXX)
stop_postgres() { :; }
trap 'stop_postgres' EXIT
# The PG-wire tests' throwaway PostgreSQL, as tools/test.sh starts it.
source tools/test-postgres.sh
# Every process (the tests and the daemons they start) writes its reports to a file of
# its own and keeps its exit status: a daemon's reports must not fail a test on exit.
export TSAN_OPTIONS=${TSAN_OPTIONS:-halt_on_error=0:exitcode=0:log_path=$reports/tsan}
status=0
swift test -c release --skip-build --scratch-path "$scratch" --filter "$filter" || status=$?
# One line per report: the place in our code it names, then how many times.
count=$(cat "$reports"/tsan.* 2>/dev/null | grep -c "^WARNING: ThreadSanitizer" || true)
if [ "$count" != 0 ]; then
  echo "tsan.sh: ThreadSanitizer reports by place (docs/FUZZING.md lists the known ones):"
  cat "$reports"/tsan.* | sed -n 's/^SUMMARY: ThreadSanitizer: \([a-zA-Z ]*\) \([^ ]*\) .*/\1 \2/p' \
    | sed "s|$root/||" | sort | uniq -c | sort -rn
fi
echo "tsan.sh: $count reports (kept in $reports), tests exit status $status"
exit "$status"
