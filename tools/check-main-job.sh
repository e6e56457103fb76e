#!/usr/bin/env bash
# Runs the README's main job to the end and checks its output: both sessions
# completed, their statistics and equity curves printed, the server stopped cleanly.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
log=$(mktemp)
trap 'rm -f "$log"' EXIT
bash "$root/tools/main-job.sh" 2>&1 | tee "$log"
fail() { echo "check-main-job: $*" >&2; exit 1; }
[ "$(grep -c 'completed: equity' "$log")" -ge 2 ] || fail "expected two completed sessions"
for line in "Sharpe Ratio" "Equity Final" "Max. Drawdown" "# Trades" "Win Rate" "Equity (2148 points)"; do
  [ "$(grep -cF "$line" "$log")" -ge 2 ] || fail "expected \"$line\" for both sessions"
done
grep -q "^imported 2148 candles into GOOG 1d" "$log" || fail "the import was not reported"
grep -q "^main-job: done" "$log" || fail "the main job did not finish"
echo "check-main-job: ok"
