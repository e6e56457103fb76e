#!/usr/bin/env python3
"""Seeded synthetic 1-minute OHLCV bars for the engine's tests: a random walk in log
price, minute after minute (weekends included), written as pandas writes a frame
indexed by `Time`.

usage: synthetic_bars.py COUNT OUT.csv SEED
"""
import sys

import numpy as np
import pandas as pd

count, path, seed = int(sys.argv[1]), sys.argv[2], int(sys.argv[3])
rng = np.random.default_rng(seed)
close = 50.0 * np.exp(np.cumsum(rng.normal(0.0, 0.001, count)))
open_ = np.concatenate(([50.0], close[:-1]))
wick = np.abs(rng.normal(0.0, 0.0006, count)) * close
frame = pd.DataFrame(
    {
        "Open": open_,
        "High": np.maximum(open_, close) + wick,
        "Low": np.minimum(open_, close) - wick,
        "Close": close,
        "Volume": rng.integers(50, 5000, count),
    },
    index=pd.date_range("2021-03-01", periods=count, freq="min", name="Time"),
)
# Rounding is monotonic, so high and low still bound open and close.
frame.round(4).to_csv(path)
