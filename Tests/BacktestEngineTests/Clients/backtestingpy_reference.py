#!/usr/bin/env python3
"""backtesting.py's own result for the SMA crossover that is always in the market
(on a cross: close, then reverse) on a CSV of bars, printed as JSON with its
statistics and trade list, for the engine's parity tests.

usage: backtestingpy_reference.py BARS.csv N1 N2 COMMISSION [--on-close]
"""
import json
import math
import sys

import pandas as pd
from backtesting import Backtest, Strategy
from backtesting.lib import crossover

path, fast, slow, commission = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4])
on_close = "--on-close" in sys.argv[5:]


def moving_average(values, n):
    return pd.Series(values).rolling(n).mean()


class Crossover(Strategy):
    n1 = 10
    n2 = 20

    def init(self):
        self.fast = self.I(moving_average, self.data.Close, self.n1)
        self.slow = self.I(moving_average, self.data.Close, self.n2)

    def next(self):
        if crossover(self.fast, self.slow):
            self.position.close()
            self.buy()
        elif crossover(self.slow, self.fast):
            self.position.close()
            self.sell()


bars = pd.read_csv(path, index_col=0, parse_dates=True)
result = Backtest(bars, Crossover, cash=10_000, commission=commission, trade_on_close=on_close,
                  exclusive_orders=True, finalize_trades=True).run(n1=fast, n2=slow)


def plain(value):
    """Numbers as floats (NaN as null); times and durations as pandas prints them."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        return str(value)
    return None if math.isnan(number) else number


print(json.dumps({
    "stats": {key: plain(value) for key, value in result.items() if not key.startswith("_")},
    "trades": [{"size": int(t.Size), "entry_time": str(t.EntryTime), "exit_time": str(t.ExitTime),
                "entry_price": float(t.EntryPrice), "exit_price": float(t.ExitPrice), "pnl": float(t.PnL)}
               for t in result._trades.itertuples()],
}, indent=1))
