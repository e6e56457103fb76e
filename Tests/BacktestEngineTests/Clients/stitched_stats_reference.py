#!/usr/bin/env python3
"""backtesting.py's compute_stats over stitched data: bars, the stitched equity (one
value per bar) and the stitched trades, given as JSON; prints the statistics as JSON on
one line (backtestingpy_reference.py's format), for StitchedRunTests.

usage: stitched_stats_reference.py INPUT.json
INPUT: {"times": [us...], "closes": [...], "equity": [...],
        "trades": [{"size", "entry_bar", "exit_bar", "entry_price", "exit_price", "pnl",
                    "return_pct", "entry_time", "exit_time"}...]}
"""
import json
import math
import sys

import numpy as np
import pandas as pd
from backtesting._stats import compute_stats

data = json.load(open(sys.argv[1]))
index = pd.to_datetime(data["times"], unit="us")
closes = data["closes"]
ohlc = pd.DataFrame({"Open": closes, "High": closes, "Low": closes, "Close": closes}, index=index)
equity = np.array(data["equity"], dtype=float)
t = data["trades"]
trades = pd.DataFrame({
    "Size": [x["size"] for x in t],
    "EntryBar": [x["entry_bar"] for x in t],
    "ExitBar": [x["exit_bar"] for x in t],
    "EntryPrice": [x["entry_price"] for x in t],
    "ExitPrice": [x["exit_price"] for x in t],
    "PnL": [x["pnl"] for x in t],
    "ReturnPct": [x["return_pct"] / 100 for x in t],
    "EntryTime": pd.to_datetime([x["entry_time"] for x in t], unit="us"),
    "ExitTime": pd.to_datetime([x["exit_time"] for x in t], unit="us"),
})
trades["Duration"] = trades["ExitTime"] - trades["EntryTime"]
stats = compute_stats(trades, equity, ohlc, None)


def plain(value):
    """Numbers as floats (NaN as null); times and durations as pandas prints them."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        return str(value)
    return None if math.isnan(number) else number


print(json.dumps({"stats": {key: plain(value) for key, value in stats.items() if not key.startswith("_")}}))
