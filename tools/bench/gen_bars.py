#!/usr/bin/env python3
"""Synthetic 1-minute OHLCV bars for the benchmarks (BENCHMARKS.md).

usage: gen_bars.py N OUT.csv [SEED]

Writes N bars starting 2020-01-01 00:00:00 UTC, one a minute, as CSV with the
header `Time,Open,High,Low,Close,Volume`. Prices follow a seeded geometric
Brownian motion starting at 100; the default seed is 7. The same N and seed give
the same bytes on every machine, so the engine bench (EngineBench) and the peer
engines (tools/bench/peers.py) read identical data.

Draws, in this order, from numpy's default generator (PCG64) seeded with SEED:
  1. N log returns        ~ Normal(0, 0.0008)
  2. N relative spreads   ~ |Normal(0, 0.0005)|, scaled by the close
  3. N volumes            ~ uniform integers in [100, 10000)
Open is the previous close (100 for the first bar); high and low widen the
open/close body by the spread. Prices are rounded to 4 decimals and printed in
the shortest form that reads back to the same double (as numpy prints them).

Needs numpy only.
"""
import sys
from datetime import date, timedelta

import numpy as np

MINUTES_PER_DAY = 24 * 60


def bars(n, seed):
    rng = np.random.default_rng(seed)
    log_returns = rng.normal(0.0, 0.0008, n)
    close = 100.0 * np.exp(np.cumsum(log_returns))
    open_ = np.empty(n)
    if n:
        open_[0] = 100.0
        open_[1:] = close[:-1]
    spread = np.abs(rng.normal(0.0, 0.0005, n)) * close
    high = np.maximum(open_, close) + spread
    low = np.minimum(open_, close) - spread
    volume = rng.integers(100, 10000, n)
    return open_, high, low, close, volume


def timestamps(n):
    """'YYYY-MM-DD HH:MM:SS' for minute i after 2020-01-01 00:00:00, i < n.

    When every time is a midnight (n <= 1) only the date is printed, as pandas
    prints such an index; the bytes then match files made with pandas."""
    if n <= 1:
        return ["2020-01-01"][:n]
    clock = [f"{m // 60:02d}:{m % 60:02d}:00" for m in range(MINUTES_PER_DAY)]
    day = date(2020, 1, 1)
    out = []
    while len(out) < n:
        prefix = day.isoformat() + " "
        out.extend(prefix + t for t in clock[: n - len(out)])
        day += timedelta(days=1)
    return out


def main(argv):
    if len(argv) not in (3, 4):
        sys.stderr.write("usage: gen_bars.py N OUT.csv [SEED]\n")
        return 2
    n, out = int(argv[1]), argv[2]
    seed = int(argv[3]) if len(argv) == 4 else 7
    open_, high, low, close, volume = bars(n, seed)
    # np.round (not Python's round) and numpy's shortest repr: both decide the bytes.
    columns = [np.round(c, 4).astype(str) for c in (open_, high, low, close)]
    columns.append(volume.astype(str))
    with open(out, "w", newline="") as f:
        f.write("Time,Open,High,Low,Close,Volume\n")
        f.writelines(",".join(row) + "\n" for row in zip(timestamps(n), *columns))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
