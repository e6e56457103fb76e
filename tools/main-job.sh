#!/usr/bin/env bash
# The main job: build, start backtestd on an embedded SQLite store, import the GOOG
# sample, run the `default` strategy and the SMA 10/20 crossover watched with progress
# bars, print their statistics and equity curves, and stop the server gracefully.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
tools/setup.sh
swift build -c release --product backtestd
swift build -c release --product backtest
bin=$(swift build -c release --show-bin-path)

work=$(mktemp -d)
server=""
cleanup() {
  if [ -n "$server" ] && kill -0 "$server" 2>/dev/null; then
    kill -TERM "$server"
    wait "$server" || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT

"$bin/backtestd" --port 0 --port-file "$work/port" --store "sqlite:$work/backtest.db" --log-level warning &
server=$!
for _ in $(seq 1 300); do
  [ -s "$work/port" ] && break
  kill -0 "$server" 2>/dev/null || { echo "main-job: backtestd did not start" >&2; exit 1; }
  sleep 0.1
done
[ -s "$work/port" ] || { echo "main-job: backtestd did not start in 30 s" >&2; exit 1; }
address="127.0.0.1:$(cat "$work/port")"
bt() { local command=$1; shift; "$bin/backtest" "$command" --server "$address" "$@"; }

section() { printf '\n== %s\n' "$*"; }

section "backtestd on $address, store sqlite:$work/backtest.db"
bt health
section "import sample-data/GOOG.csv"
bt import sample-data/GOOG.csv --symbol GOOG --timeframe 1d
bt data

# 2004-08-19 .. 2013-03-02 is 3117 simulated days; at 90,000,000 simulated seconds
# per wall second each run takes about three seconds, so the progress bar is seen.
run() {
  local title=$1; shift
  section "$title"
  local id
  id=$(bt start --symbol GOOG --timeframe 1d --from 2004-08-19 --to 2013-03-02 --capital 10000 \
        --acceleration 90000000 --label source=main-job "$@" --json |
       python3 -c 'import json, sys; print(json.loads(sys.stdin.readline())["sessionId"])')
  echo "session $id"
  bt watch "$id"
  bt show "$id"
}
run "the default strategy (S1 momentum + volume, E1 stop-loss 5%, ZE1 take-profit 10%)" --strategy default
run "SMA 10/20 crossover (close, then reverse)" --strategy sma_cross --param n1=10 --param n2=20

section "sessions"
bt sessions --label source=main-job

section "stopping backtestd (SIGTERM)"
kill -TERM "$server"
wait "$server"
server=""
echo "main-job: done"
