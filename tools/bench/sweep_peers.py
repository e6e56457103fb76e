#!/usr/bin/env python3
"""Times the issue-13 SMA grid on this service, vectorbt and backtesting.py in one run
(BENCHMARKS.md, "Parameter sweep (issue 13)").

The grid: n1 5..30 step 1, n2 20..100 step 2, n1 < n2 (1,030 of the 1,066 pairs), the
`sma_cross` strategy (docs/DESIGN.md section 6.1): always in the market, on SMA(close,
n1) crossing above SMA(close, n2) close any short and go long, on crossing below close
any long and go short. Every engine is given the same rules (sections 6 and 7):

  - a signal on bar i fills at bar i+1's open (market order, next open);
  - all equity in whole units, no commission, no slippage, cash 1,000,000;
  - the position still open after the last bar is closed at the last bar's open
    (backtesting.py's finalize_trades=True);
  - the objective is backtesting.py 0.6.6's Sharpe ratio (annualised geometric mean of
    the daily equity returns over backtesting.py's annualised volatility), which this
    service's `sharpe_ratio` reproduces and which is computed here from vectorbt's
    equity curves (vectorbt's own `sharpe_ratio` is a different statistic: per-bar
    returns, mean over standard deviation; its best is printed beside, for reference).

Setup, once, from the repository root:

    python3 -m venv .venv-bench
    .venv-bench/bin/pip install -r tools/bench/requirements-peers.txt
    swift build -c release --product backtestd && swift build -c release --product backtest

Usage (from the repository root):

    .venv-bench/bin/python tools/bench/sweep_peers.py [options]

    --bars N         synthetic one-minute bars made by tools/bench/gen_bars.py (default 200000)
    --engines LIST   any of ours,vectorbt,backtesting (default: all three)
    --rounds R       measure R times, the engines alternating within each round (default 1)
    --bt-sample K    backtesting.py's optimize on the N bars too, over about K combinations
                     drawn from the grid (max_tries=K, random_state=0); 0 skips it (default 8)
    --workdir DIR    bar files, the service's SQLite file and per-engine results
                     (default .build-bench, ignored by git)
    --bin DIR        where backtestd and backtest are (default .build/release)
    --workers W      the sweep's workers (default: the server's, one per core)
    --vbt-chunk C    columns per vectorbt portfolio (default 103)

What it runs, each engine in a process of its own:

  ours         backtestd (a fresh SQLite file, a free port) and the CLI: `backtest import`
               of the bars, then `backtest sweep ... --watch --json` (StartSweep, WatchSweep
               to the terminal event, GetSweep). Timed two ways: the sweep's created_at to
               completed_at (StartSweep -> COMPLETED, as stored), and the CLI's wall time.
               Then `backtest sweep-show --all --json` reads every row for the comparison.
  vectorbt     the idiomatic grid: vbt.MA.run(close, n1s) and vbt.MA.run(close, n2s) over
               the 1,030 pairs, ma_crossed_above / ma_crossed_below, the signals shifted one
               bar, Portfolio.from_signals(entries=up, short_entries=down, price=open,
               size=inf, size_granularity=1), then pf.value() and the Sharpe ratio of every
               column. The columns go through in chunks (--vbt-chunk, default 103: ten
               chunks; all 1,030 in one portfolio ran out of memory on a shared 23 GB
               machine). The whole pipeline first runs
               on the first 3,000 bars (numba's JIT warm); the full run is timed (the trade
               counts and vectorbt's own sharpe_ratio, printed for reference, are not).
  vectorbt-exact  the same rules as far as vectorbt can say them, to check the rows:
               pandas' rolling means (vectorbt's MA is a running sum, about 1e-9 off
               pandas' compensated sum, which flips a crossing where the two means are
               exactly equal), backtesting.py's strict crossover (vectorbt's also fires
               after a bar of equality), and a crossing on the side already held
               resizing the position to all equity (backtesting.py closes and reopens
               it; from_signals ignores it): Portfolio.from_orders with a target of
               +-100% of the value (at the open) on the bar after each crossing, and at
               the last bar's open a target of 0, or of +-100% after a crossing on the
               last bar (backtesting.py's last pass fills that bar's orders and leaves
               the new trade open, valued at the last close). What still differs: a
               resize is floored as an order (size_granularity), not as the new
               position, so after a same-side crossing vectorbt may hold one unit more.
               Timed the same way.
  backtesting  Backtest.optimize(n1=range(5, 31), n2=range(20, 101, 2), constraint n1 < n2,
               maximize="Sharpe Ratio") on sample-data/GOOG.csv (2,148 daily bars): on
               200,000 bars it takes 4-5 s a combination here, 40 minutes of both cores for the grid.
               With --bt-sample K also on the N bars over about K combinations.

Every engine also runs the grid on GOOG.csv, so the three best rows are compared on the
same data; on the N bars the service's and vectorbt's best rows are compared, and
backtesting.py's sampled rows against the service's rows of the same parameters.

The output: one line per engine and data set (combinations, seconds, combinations/s,
the best n1/n2 and its Sharpe ratio, the load average before and after), then the
comparisons: the best rows, and over every combination how many Sharpe ratios and final
equities agree (final equity to the cent, Sharpe to 1e-9 relative) with the largest
difference.
"""
import gc
import json
import math
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from datetime import datetime

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
CASH = 1_000_000
N1 = range(5, 31)
N2 = range(20, 101, 2)
GOOG = os.path.join(ROOT, "sample-data", "GOOG.csv")


def grid():
    """The pairs in the order the service numbers them (the last axis fastest)."""
    return [(a, b) for a in N1 for b in N2 if a < b]


def loadavg():
    with open("/proc/loadavg") as f:
        return " ".join(f.read().split()[:3])


# MARK: backtesting.py's Sharpe ratio, column by column


def last_of_each_day(index):
    """Positions of the last bar of each calendar day (backtesting.py resamples the
    equity to days with .resample('D').last().dropna())."""
    import numpy as np

    days = index.normalize().asi8
    last = np.flatnonzero(days[1:] != days[:-1])
    return np.append(last, len(days) - 1)


def annual_periods(index):
    """backtesting.py 0.6.6's annual_trading_days for daily-or-finer bars."""
    weekend_share = index.day_of_week.to_series().between(5, 6).mean()
    return 365 if weekend_share > 2 / 7 * 0.6 else 252


def sharpe_columns(daily, periods):
    """backtesting.py 0.6.6's compute_stats Sharpe ratio for every column of `daily`
    (days x columns of end-of-day equity): Return (Ann.) / Volatility (Ann.)."""
    import numpy as np

    returns = daily[1:] / daily[:-1] - 1  # .pct_change().dropna()
    with np.errstate(divide="ignore", invalid="ignore"):
        gmean = np.exp(np.log(returns + 1).sum(axis=0) / returns.shape[0]) - 1
        gmean = np.where((returns <= -1).any(axis=0), 0.0, gmean)
        var = returns.var(axis=0, ddof=1)
        ret_pct = ((1 + gmean) ** periods - 1) * 100
        vol_pct = np.sqrt((var + (1 + gmean) ** 2) ** periods - (1 + gmean) ** (2 * periods)) * 100
        return ret_pct / np.where(vol_pct == 0, np.nan, vol_pct)


# MARK: the engines, each in a child process


def load(path):
    import pandas as pd

    df = pd.read_csv(path, index_col=0, parse_dates=True)
    df.index.name = None
    return df


def child_vectorbt(path, out, chunk):
    import numpy as np

    t_import = time.perf_counter()
    import vectorbt as vbt

    imported = time.perf_counter() - t_import
    df = load(path)
    pairs = grid()
    n1s, n2s = [a for a, _ in pairs], [b for _, b in pairs]
    freq = "1D" if len(df) < 10_000 else "1min"

    def finish(pf, frame):
        values = pf.value().to_numpy()
        sharpe = sharpe_columns(values[last_of_each_day(frame.index)], annual_periods(frame.index))
        return pf, values[-1], sharpe

    def valuation(frame):
        # The position left open is closed at the last bar's open (finalize_trades):
        # the last bar is valued at its open.
        close = frame["Close"].copy()
        close.iloc[-1] = frame["Open"].iloc[-1]
        return close

    def chunked(run):
        """Runs `run(frame, n1s, n2s)` over the columns in chunks of `chunk` (the whole
        grid at once needs more memory than the machine has); joins the results."""
        def go(frame):
            finals, sharpes, trades, owns = [], [], [], []
            seconds = 0.0
            for at in range(0, len(pairs), chunk):
                t0 = time.perf_counter()
                pf, final, sharpe = run(frame, n1s[at:at + chunk], n2s[at:at + chunk])
                seconds += time.perf_counter() - t0  # the trade counts and vectorbt's own Sharpe not counted
                finals.append(final)
                sharpes.append(sharpe)
                trades.append(pf.trades.count().to_numpy())
                owns.append(pf.sharpe_ratio().to_numpy())
                # vectorbt's method caches make reference cycles: free the chunk now.
                del pf
                gc.collect()
            return (seconds, *(np.concatenate(x) for x in (finals, sharpes, trades, owns)))
        return go

    def idiomatic(frame, n1s, n2s):
        """vectorbt's own way: MA.run over the windows, its crossing signals, from_signals."""
        close, open_ = frame["Close"], frame["Open"]
        fast = vbt.MA.run(close, n1s, short_name="n1")
        slow = vbt.MA.run(close, n2s, short_name="n2")
        # A signal on bar i is a market order filled at bar i+1's open.
        up = fast.ma_crossed_above(slow).shift(1, fill_value=False)
        down = fast.ma_crossed_below(slow).shift(1, fill_value=False)
        pf = vbt.Portfolio.from_signals(
            valuation(frame), entries=up, short_entries=down, price=open_, size=np.inf, size_granularity=1,
            init_cash=CASH, fees=0.0, freq=freq)
        return finish(pf, frame)

    def exact(frame, n1s, n2s):
        """The same rules as far as vectorbt can say them: pandas' rolling means (as
        backtesting.py and this service compute them), backtesting.py's strict
        crossover, and a crossing on the side already held resizing the position to
        all equity (backtesting.py closes and reopens it): from_orders with a target
        of +-100% of the value at the open; the end as backtesting.py's
        finalize_trades leaves it."""
        close, open_ = frame["Close"], frame["Open"]
        means = {n: close.rolling(n).mean().to_numpy() for n in sorted(set(n1s) | set(n2s))}
        fast = np.column_stack([means[n] for n in n1s])
        slow = np.column_stack([means[n] for n in n2s])
        target = np.full(fast.shape, np.nan)
        up = (fast[:-1] < slow[:-1]) & (fast[1:] > slow[1:])  # crossings on bars 1..n-1
        down = (fast[:-1] > slow[:-1]) & (fast[1:] < slow[1:])
        target[2:][up[:-1]] = 1.0
        target[2:][down[:-1]] = -1.0
        # The end (finalize_trades): the position is closed at the last bar's open; but
        # backtesting.py's last pass also fills the orders of a crossing on the last
        # bar, at that open, and leaves that trade open, valued at the last close.
        target[-1] = np.where(up[-1], 1.0, np.where(down[-1], -1.0, 0.0))
        pf = vbt.Portfolio.from_orders(
            close, size=target, size_type="targetpercent", price=open_, size_granularity=1,
            init_cash=CASH, fees=0.0, freq=freq)
        return finish(pf, frame)

    t0 = time.perf_counter()
    warm_frame = df.iloc[:3000] if len(df) > 3000 else df.iloc[: len(df) // 2]
    chunked(idiomatic)(warm_frame)  # numba's JIT, warmed on the same types
    chunked(exact)(warm_frame)
    warm = time.perf_counter() - t0
    results = []
    for name, run in (("vectorbt", idiomatic), ("vectorbt-exact", exact)):
        load_before = loadavg()
        t0 = time.perf_counter()
        seconds, final, sharpe, trades, own = chunked(run)(df)
        total = time.perf_counter() - t0
        load_after = loadavg()
        best_own = int(np.nanargmax(own))
        results.append({
            "engine": name, "bars": len(df), "combinations": len(pairs), "seconds": seconds, "total_seconds": total,
            "warmup_seconds": warm, "import_seconds": imported, "load_before": load_before, "chunk": chunk,
            "load_after": load_after,
            "rows": {f"{a},{b}": {"sharpe": float(s), "final": float(f), "trades": int(t)}
                     for (a, b), s, f, t in zip(pairs, sharpe, final, trades)},
            "vectorbt_own_sharpe_best": {"n1": pairs[best_own][0], "n2": pairs[best_own][1],
                                         "value": float(own[best_own])},
        })
    with open(out, "w") as f:
        json.dump(results, f)


def sma(values, n):
    """backtesting.py's usual SMA: pandas' rolling mean."""
    import pandas as pd

    return pd.Series(values).rolling(n).mean()


def backtesting_strategy():
    """sma_cross for backtesting.py, as a module global so optimize's worker processes
    can unpickle it."""
    from backtesting import Strategy
    from backtesting.lib import crossover

    class SmaCross(Strategy):
        n1 = 10
        n2 = 20

        def init(self):
            self.fast = self.I(sma, self.data.Close, self.n1)
            self.slow = self.I(sma, self.data.Close, self.n2)

        def next(self):
            if crossover(self.fast, self.slow):
                self.position.close()
                self.buy()
            elif crossover(self.slow, self.fast):
                self.position.close()
                self.sell()

    SmaCross.__qualname__ = "SmaCross"
    globals()["SmaCross"] = SmaCross
    return SmaCross


def child_backtesting(path, out, sample):
    os.environ.setdefault("TQDM_DISABLE", "1")
    import warnings

    warnings.filterwarnings("ignore")
    from backtesting import Backtest

    strategy = backtesting_strategy()
    df = load(path)
    bt = Backtest(df, strategy, cash=CASH, commission=0.0, finalize_trades=True)
    extra = {} if sample == 0 else {"max_tries": sample, "random_state": 0}
    load_before = loadavg()
    t0 = time.perf_counter()
    stats, heatmap = bt.optimize(n1=N1, n2=N2, constraint=lambda p: p.n1 < p.n2, maximize="Sharpe Ratio",
                                 return_heatmap=True, **extra)
    seconds = time.perf_counter() - t0
    load_after = loadavg()
    rows = {f"{int(a)},{int(b)}": {"sharpe": float(v)} for (a, b), v in heatmap.items()}
    result = {
        "engine": "backtesting", "bars": len(df), "combinations": len(rows), "seconds": seconds,
        "load_before": load_before, "load_after": load_after, "rows": rows,
        "best_run": {"n1": int(stats._strategy.n1), "n2": int(stats._strategy.n2),
                     "sharpe": float(stats["Sharpe Ratio"]), "final": float(stats["Equity Final [$]"]),
                     "trades": int(stats["# Trades"])},
    }
    with open(out, "w") as f:
        json.dump(result, f)


# MARK: this service, through backtestd and the CLI


class Service:
    def __init__(self, bindir, workdir):
        self.cli = os.path.join(bindir, "backtest")
        db = os.path.join(workdir, f"sweep-{os.getpid()}.db")
        for suffix in ("", "-wal", "-shm"):
            if os.path.exists(db + suffix):
                os.remove(db + suffix)
        self.db = db
        port_file = os.path.join(workdir, f"port-{os.getpid()}")
        if os.path.exists(port_file):
            os.remove(port_file)
        self.log = open(os.path.join(workdir, "backtestd.log"), "w")
        self.proc = subprocess.Popen(
            [os.path.join(bindir, "backtestd"), "--store", f"sqlite:{db}", "--port", "0", "--port-file", port_file],
            stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 30
        while not (os.path.exists(port_file) and open(port_file).read().strip()):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise SystemExit("backtestd did not start; see " + self.log.name)
            time.sleep(0.05)
        self.server = "127.0.0.1:" + open(port_file).read().strip()
        os.remove(port_file)

    def run(self, *args, json_lines=False):
        out = subprocess.run([self.cli, *args, "--server", self.server], check=True, capture_output=True, text=True)
        if json_lines:
            return [json.loads(line) for line in out.stdout.splitlines() if line.strip()]
        return out.stdout

    def import_bars(self, path, symbol, timeframe):
        self.run("import", path, "--symbol", symbol, "--timeframe", timeframe)

    def sweep(self, symbol, timeframe, start, end, workers):
        args = ["sweep", "--symbol", symbol, "--timeframe", timeframe, "--from", start, "--to", end,
                "--capital", str(CASH), "--strategy", "sma_cross", "--param", "n1=5..30", "--param", "n2=20..100:2",
                "--where", "n1 < n2", "--maximize", "sharpe_ratio", "--watch", "--json"]
        if workers:
            args += ["--workers", str(workers)]
        load_before = loadavg()
        t0 = time.perf_counter()
        lines = self.run(*args, json_lines=True)
        wall = time.perf_counter() - t0
        load_after = loadavg()
        sweep = lines[-1]["sweep"]
        if sweep["status"] != "SESSION_STATUS_COMPLETED":
            raise SystemExit(f"sweep ended {sweep['status']}: {sweep}")
        stored = (timestamp(sweep["completedAt"]) - timestamp(sweep["createdAt"]))
        page = self.run("sweep-show", sweep["sweepId"], "--all", "--json", json_lines=True)[-1]
        rows = {}
        for r in page["results"]:
            p, s = {x["name"]: x["value"] for x in r["params"]}, r.get("statistics", {})
            rows[f"{int(p['n1'])},{int(p['n2'])}"] = {
                "sharpe": number(s.get("sharpeRatio")), "final": number(s.get("equityFinal")),
                "trades": int(s.get("totalTrades", 0))}
        return {"engine": "ours", "combinations": int(sweep["total"]), "seconds": stored, "wall_seconds": wall,
                "load_before": load_before, "load_after": load_after, "rows": rows, "sweep_id": sweep["sweepId"]}

    def close(self):
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        self.log.close()
        for suffix in ("", "-wal", "-shm"):
            if os.path.exists(self.db + suffix):
                os.remove(self.db + suffix)


def timestamp(text):
    """Seconds since the epoch of a proto3 JSON timestamp (RFC 3339, Z)."""
    head, _, frac = text.rstrip("Z").partition(".")
    return datetime.fromisoformat(head + "+00:00").timestamp() + (float("0." + frac) if frac else 0.0)


def number(value):
    """A proto3 JSON double: a number, or "NaN" / "Infinity" as strings."""
    if value is None:
        return math.nan
    return float(value)


# MARK: the run


def bars_file(workdir, n):
    path = os.path.join(workdir, f"bars{n}.csv")
    if not os.path.exists(path):
        print(f"making {path}: gen_bars.py {n}", file=sys.stderr, flush=True)
        subprocess.run([sys.executable, os.path.join(HERE, "gen_bars.py"), str(n), path], check=True)
    return path


def child(engine, path, workdir, *extra):
    fd, out = tempfile.mkstemp(prefix=f"{engine}-", suffix=".json", dir=workdir)
    os.close(fd)
    subprocess.run([sys.executable, os.path.abspath(__file__), "--child", engine, path, out, *map(str, extra)],
                   check=True)
    with open(out) as f:
        result = json.load(f)
    os.remove(out)
    return result


def best(rows):
    """The best row by Sharpe ratio, ties to the earlier combination, NaN last."""
    order = [f"{a},{b}" for a, b in grid()]
    present = [k for k in order if k in rows and not math.isnan(rows[k]["sharpe"])]
    if not present:
        return None, math.nan
    key = max(present, key=lambda k: (rows[k]["sharpe"], -order.index(k)))
    return key, rows[key]["sharpe"]


def line(label, r):
    key, value = best(r["rows"])
    extra = f" wall {r['wall_seconds']:.2f} s (CLI)" if "wall_seconds" in r else ""
    extra += f" + JIT warm-up {r['warmup_seconds']:.2f} s (not counted)" if "warmup_seconds" in r else ""
    print(f"{label}: combinations={r['combinations']} seconds={r['seconds']:.2f} "
          f"combinations_per_s={r['combinations'] / r['seconds']:,.1f} best n1,n2={key} sharpe={value:.6f}{extra} "
          f"load {r['load_before']} -> {r['load_after']}", flush=True)


def compare(label, a, b, fields=("sharpe", "final")):
    ra, rb = a["rows"], b["rows"]
    common = [k for k in ra if k in rb]
    print(f"{label}: {len(common)} common combinations")
    for field in fields:
        if not all(field in ra[k] and field in rb[k] for k in common):
            continue
        same, worst, worst_key = 0, 0.0, None
        for k in common:
            x, y = ra[k][field], rb[k][field]
            if math.isnan(x) and math.isnan(y):
                same += 1
                continue
            diff = abs(x - y) if field == "final" else abs(x - y) / max(abs(x), abs(y), 1e-300)
            if (field == "final" and diff < 0.005) or (field != "final" and diff <= 1e-9):
                same += 1
            if not diff <= worst:
                worst, worst_key = diff, k
        unit = "" if field == "final" else " relative"
        print(f"  {field}: equal in {same} of {len(common)}; largest difference {worst:.3g}{unit} at n1,n2={worst_key}"
              + (f" ({ra[worst_key][field]!r} vs {rb[worst_key][field]!r})" if worst_key else ""))
        if "trades" in ra[common[0]] and "trades" in rb[common[0]] and field == fields[-1]:
            differ = [k for k in common if ra[k]["trades"] != rb[k]["trades"]]
            print(f"  trades: differ in {len(differ)} ({', '.join(differ[:5])}{' ...' if len(differ) > 5 else ''})")


def main(argv):
    if len(argv) >= 2 and argv[1] == "--child":
        engine, path, out = argv[2:5]
        if engine == "vectorbt":
            child_vectorbt(path, out, int(argv[5]))
        else:
            child_backtesting(path, out, int(argv[5]))
        return 0
    options = {"--bars": "200000", "--engines": "ours,vectorbt,backtesting", "--rounds": "1", "--bt-sample": "8",
               "--workdir": os.path.join(ROOT, ".build-bench"), "--bin": os.path.join(ROOT, ".build", "release"),
               "--workers": "0", "--vbt-chunk": "103"}
    args = argv[1:]
    while args:
        if args[0] not in options or len(args) < 2:
            sys.stderr.write(__doc__)
            return 2
        options[args[0]] = args[1]
        args = args[2:]
    engines = options["--engines"].split(",")
    workdir = options["--workdir"]
    os.makedirs(workdir, exist_ok=True)
    n = int(options["--bars"])
    bars = bars_file(workdir, n)
    sample = int(options["--bt-sample"])
    print(f"grid: {len(grid())} combinations; bars: {n} ({os.path.relpath(bars, ROOT)}) and GOOG.csv (2,148 days); "
          f"cores: {os.cpu_count()}; load average {loadavg()}", flush=True)

    results = {}
    service = None
    if "ours" in engines:
        for tool in ("backtestd", "backtest"):
            if not shutil.which(os.path.join(options["--bin"], tool)):
                raise SystemExit(f"no {tool} in {options['--bin']}: swift build -c release --product {tool}")
        service = Service(options["--bin"], workdir)
        service.import_bars(bars, "SYN", "1m")
        service.import_bars(GOOG, "GOOG", "1d")
    try:
        for round_ in range(int(options["--rounds"])):
            print(f"round {round_ + 1}", flush=True)
            for engine in engines:
                runs = []  # (data, [results])
                if engine == "ours":
                    workers = int(options["--workers"])
                    runs.append(("bars", [service.sweep("SYN", "1m", "2020-01-01", "2021-01-01", workers)]))
                    runs.append(("GOOG", [service.sweep("GOOG", "1d", "2004-08-19", "2013-03-02", workers)]))
                elif engine == "vectorbt":
                    runs.append(("bars", child("vectorbt", bars, workdir, options["--vbt-chunk"])))
                    runs.append(("GOOG", child("vectorbt", GOOG, workdir, options["--vbt-chunk"])))
                elif engine == "backtesting":
                    if sample:
                        runs.append(("bars", [child("backtesting", bars, workdir, sample)]))
                    runs.append(("GOOG", [child("backtesting", GOOG, workdir, 0)]))
                else:
                    raise SystemExit(f"unknown engine {engine}")
                for data, rs in runs:
                    for r in rs:
                        line(f"{r['engine']} {data}", r)
                        results.setdefault((r["engine"], data), []).append(r)
    finally:
        if service:
            service.close()

    print("comparison (last round):")
    last = {k: v[-1] for k, v in results.items()}
    names = [e for e in ("ours", "vectorbt", "vectorbt-exact", "backtesting") if any(k[0] == e for k in last)]
    for data in ("bars", "GOOG"):
        bests = {e: best(last[(e, data)]["rows"]) for e in names if (e, data) in last}
        print(f"best on {data}: " + "; ".join(
            f"{e}{' (of its sample)' if e == 'backtesting' and data == 'bars' else ''} n1,n2={k} sharpe={v:.9f}"
            for e, (k, v) in bests.items()))
        for e in ("vectorbt", "vectorbt-exact"):
            if (e, data) in last:
                own = last[(e, data)]["vectorbt_own_sharpe_best"]
                print(f"  ({e} ranked by vectorbt's own sharpe_ratio, per-bar returns: n1,n2={own['n1']},{own['n2']} "
                      f"first, {own['value']:.4f})")
        if ("backtesting", data) in last:
            b = last[("backtesting", data)]["best_run"]
            print(f"  (backtesting.py's best run: n1,n2={b['n1']},{b['n2']} sharpe={b['sharpe']:.9f} "
                  f"final={b['final']:.2f} trades={b['trades']})")
        for e in names:
            if e != "ours" and ("ours", data) in last and (e, data) in last:
                compare(f"ours vs {e} on {data}", last[("ours", data)], last[(e, data)])
    for e in ("vectorbt", "vectorbt-exact"):
        if ("ours", "bars") in results and (e, "bars") in results:
            speed = lambda r: r["combinations"] / r["seconds"]
            ours = [speed(r) for r in results[("ours", "bars")]]
            peer = [speed(r) for r in results[(e, "bars")]]
            ratios = [a / b for a, b in zip(ours, peer)]
            print(f"combinations/s on {n} bars, ours / {e}, by round: "
                  + ", ".join(f"{x:.1f}x" for x in ratios) + " (goal: 10x)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
