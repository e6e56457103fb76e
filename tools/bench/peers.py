#!/usr/bin/env python3
"""Times peer Python backtesting engines on the benchmark strategy (BENCHMARKS.md, "Peers").

The strategy is the engine bench's `sma_cross 10/20`: always in the market; when
SMA(close, 10) crosses above SMA(close, 20) close any short and go long, when it
crosses below close any long and go short. Cash 1,000,000, no commission.

Setup, once, from the repository root (the peers live in a venv of their own):

    python3 -m venv .venv-bench
    .venv-bench/bin/pip install -r tools/bench/requirements-peers.txt

Usage:

    .venv-bench/bin/python tools/bench/peers.py                 # the peer lines of BENCHMARKS.md
    .venv-bench/bin/python tools/bench/peers.py ENGINE FILE.csv # one engine on one file

With no arguments it times backtesting.py and backtrader on /tmp/bars200k.csv and
vectorbt (first call and warm) on /tmp/bars1m.csv (the files are made with
tools/bench/gen_bars.py when missing), each engine in a process of its own.
ENGINE is one of:

  backtesting    backtesting.py: market orders fill at the next bar's open, all
                 equity in whole units, the last trade closed at the end
  backtrader     backtrader: next-open fills, a fixed size of 100 units (long or short)
  vectorbt       vectorbt, first call in a fresh process, so the JIT is counted;
                 prints the warm call after it too. Run with no arguments, it gets
                 an empty numba cache (NUMBA_CACHE_DIR) and so compiles everything;
                 run as `peers.py vectorbt FILE` it uses numba's on-disk cache in
                 site-packages, filled by earlier runs (then ~5 times faster)
  vectorbt-warm  vectorbt, only the second call of the two (warm JIT: its fair figure)

vectorbt fills at the signal bar's close with fractional units, so its trade
count differs from the others by a few. Each line gives the seconds of the run
alone: reading the CSV and importing the engine are not counted (the import time
is printed beside it). The figures of BENCHMARKS.md made before this script
existed counted the import too.
"""
import os
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ENGINES = ("backtesting", "backtrader", "vectorbt", "vectorbt-warm")
FAST, SLOW, CASH = 10, 20, 1_000_000
DEFAULT_RUNS = (  # (engine, bars): the lines BENCHMARKS.md reports
    ("backtesting", 200_000),
    ("backtrader", 200_000),
    ("vectorbt", 1_000_000),  # prints the first (JIT) call and the warm one
)


def load(path):
    import pandas as pd

    return pd.read_csv(path, index_col=0, parse_dates=True)


def run_backtesting(df):
    started = time.perf_counter()
    from backtesting import Backtest, Strategy
    from backtesting.lib import crossover

    imported = time.perf_counter()

    def sma(values, n):
        import pandas as pd

        return pd.Series(values).rolling(n).mean()

    class SmaCross(Strategy):
        def init(self):
            self.fast = self.I(sma, self.data.Close, FAST)
            self.slow = self.I(sma, self.data.Close, SLOW)

        def next(self):
            if crossover(self.fast, self.slow):
                self.position.close()
                self.buy()
            elif crossover(self.slow, self.fast):
                self.position.close()
                self.sell()

    t0 = time.perf_counter()
    stats = Backtest(df, SmaCross, cash=CASH, commission=0.0, finalize_trades=True).run()
    seconds = time.perf_counter() - t0
    return [("backtesting", seconds, int(stats["# Trades"]), float(stats["Equity Final [$]"]),
             imported - started)]


def run_backtrader(df):
    started = time.perf_counter()
    import backtrader as bt

    imported = time.perf_counter()

    class SmaCross(bt.Strategy):
        def __init__(self):
            self.cross = bt.ind.CrossOver(bt.ind.SMA(period=FAST), bt.ind.SMA(period=SLOW))
            self.closed = 0

        def notify_trade(self, trade):
            if trade.isclosed:
                self.closed += 1

        def next(self):
            if self.cross > 0:
                self.order_target_size(target=100)
            elif self.cross < 0:
                self.order_target_size(target=-100)

    t0 = time.perf_counter()
    cerebro = bt.Cerebro(stdstats=False)
    cerebro.adddata(bt.feeds.PandasData(dataname=df))
    cerebro.addstrategy(SmaCross)
    cerebro.broker.setcash(CASH)
    strategy = cerebro.run()[0]
    seconds = time.perf_counter() - t0
    return [("backtrader", seconds, strategy.closed, float(cerebro.broker.getvalue()),
             imported - started)]


def run_vectorbt(df, warm):
    started = time.perf_counter()
    import vectorbt as vbt

    imported = time.perf_counter()
    close = df["Close"]
    lines = []
    for name in ("vectorbt", "vectorbt-warm"):
        t0 = time.perf_counter()
        fast = vbt.MA.run(close, FAST)
        slow = vbt.MA.run(close, SLOW)
        up = fast.ma_crossed_above(slow)
        down = fast.ma_crossed_below(slow)
        pf = vbt.Portfolio.from_signals(close, up, down, short_entries=down, short_exits=up,
                                        init_cash=CASH, freq="1min")
        trades, final = int(pf.trades.count()), float(pf.final_value())
        lines.append((name, time.perf_counter() - t0, trades, final, imported - started))
    return lines if not warm else lines[1:]


def run_one(engine, path):
    os.environ.setdefault("TQDM_DISABLE", "1")  # no progress bar from backtesting.py
    df = load(path)
    if engine == "backtesting":
        lines = run_backtesting(df)
    elif engine == "backtrader":
        lines = run_backtrader(df)
    else:
        lines = run_vectorbt(df, warm=(engine == "vectorbt-warm"))
    for name, seconds, trades, final, imports in lines:
        print(f"{name}: bars={len(df)} seconds={seconds:.3f} bars_per_s={len(df) / seconds:,.0f} "
              f"trades={trades} final={final:.2f}  (import {imports:.2f} s, not counted)",
              flush=True)


def bars_file(n):
    path = f"/tmp/bars{n // 1000}k.csv" if n < 1_000_000 else f"/tmp/bars{n // 1_000_000}m.csv"
    if not os.path.exists(path):
        print(f"making {path}: gen_bars.py {n} {path}", file=sys.stderr, flush=True)
        subprocess.run([sys.executable, os.path.join(HERE, "gen_bars.py"), str(n), path], check=True)
    return path


def child(engine, path):
    """Runs one engine in a fresh interpreter; vectorbt gets an empty numba cache."""
    env = dict(os.environ)
    with tempfile.TemporaryDirectory(prefix="peers-numba-") as cache:
        if engine == "vectorbt":
            env["NUMBA_CACHE_DIR"] = cache
        return subprocess.run([sys.executable, os.path.abspath(__file__), engine, path], env=env).returncode


def main(argv):
    if len(argv) == 3 and argv[1] in ENGINES:
        run_one(argv[1], argv[2])
        return 0
    if len(argv) != 1:
        sys.stderr.write(__doc__)
        return 2
    status = 0
    for engine, n in DEFAULT_RUNS:
        status = child(engine, bars_file(n)) or status
    return status


if __name__ == "__main__":
    sys.exit(main(sys.argv))
