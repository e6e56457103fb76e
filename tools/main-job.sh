#!/usr/bin/env bash
# The main job. Today: builds the client and the message layer in release mode,
# encodes a StartBacktest request for the GOOG sample (SMA 10/20 crossover) through
# protobuf-c, decodes it back and shows it, and measures the message layer.
# It will become: start backtestd on the embedded SQLite store, import the GOOG
# sample, start the default and sma_cross strategies, watch them with progress bars,
# print their statistics and equity curves, and stop the server.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
tools/setup.sh
swift build -c release --product backtest
swift build -c release --product proto-bench
bin=$(swift build -c release --show-bin-path)
"$bin/backtest" encode-request --symbol GOOG --timeframe 1d --from 2004-08-19 --to 2013-03-02 \
  --capital 10000 --strategy sma_cross --param n1=10 --param n2=20 --label source=readme \
  --grpc-frame "$bin/start-request.grpc"
"$bin/proto-bench" 200000
