# Independent indicator values (pandas/numpy) for the engine's streaming indicators.
# usage: indicators_reference.py OHLCV.csv  -> one JSON object {name: [values, null for NaN]}
import sys, json
import numpy as np
import pandas as pd

df = pd.read_csv(sys.argv[1], index_col=0)
c, h, l, v = df["Close"], df["High"], df["Low"], df["Volume"].astype(float)
out = {}

def put(name, s):
    out[name] = [None if (x is None or np.isnan(x)) else float(x) for x in np.asarray(s, dtype=float)]

def seeded_ewm(x, n, alpha):
    # Seed with the mean of the first n values, then x_t = a * x + (1 - a) * prev.
    x = pd.Series(np.asarray(x, dtype=float))
    valid = x.dropna()
    res = pd.Series(np.nan, index=x.index)
    if len(valid) < n:
        return res
    first = valid.index[n - 1]
    seeded = x.copy()
    seeded[:first] = np.nan
    seeded[first] = valid.iloc[:n].mean()
    res[first:] = seeded[first:].ewm(alpha=alpha, adjust=False).mean()
    return res

for n in (1, 5, 20):
    put(f"sma{n}", c.rolling(n).mean())
    put(f"ema{n}", seeded_ewm(c, n, 2 / (n + 1)))
    w = np.arange(1, n + 1, dtype=float)
    put(f"wma{n}", c.rolling(n).apply(lambda a: np.dot(a, w) / w.sum(), raw=True))
    put(f"stddev{n}", c.rolling(n).std(ddof=0))
    put(f"highest{n}", c.rolling(n).max())
    put(f"lowest{n}", c.rolling(n).min())
    put(f"roc{n}", (c / c.shift(n) - 1) * 100)
    put(f"momentum{n}", c - c.shift(n))
    put(f"vwap{n}", (((h + l + c) / 3) * v).rolling(n).sum() / v.rolling(n).sum())
    put(f"volume_ratio{n}", v / v.rolling(n).mean())

for n in (2, 14):
    d = c.diff()
    gain = seeded_ewm(d.clip(lower=0), n, 1 / n)
    loss = seeded_ewm((-d).clip(lower=0), n, 1 / n)
    put(f"rsi{n}", 100 - 100 / (1 + gain / loss))
    tr = pd.concat([h - l, (h - c.shift()).abs(), (l - c.shift()).abs()], axis=1).max(axis=1)
    tr.iloc[0] = h.iloc[0] - l.iloc[0]
    put(f"atr{n}", seeded_ewm(tr, n, 1 / n))

fast, slow = seeded_ewm(c, 12, 2 / 13), seeded_ewm(c, 26, 2 / 27)
line = fast - slow
signal = seeded_ewm(line, 9, 2 / 10)
put("macd", line)
put("macd_signal", signal)
put("macd_hist", line - signal)
m, sd = c.rolling(20).mean(), c.rolling(20).std(ddof=0)
put("bb_upper", m + 2 * sd)
put("bb_middle", m)
put("bb_lower", m - 2 * sd)
put("vwap0", (((h + l + c) / 3) * v).cumsum() / v.cumsum())
# Bit-exact comparisons need exact doubles: JSON numbers do not survive Foundation's
# parser bit for bit, hexadecimal floats do.
out["sma20_hex"] = [float(x).hex() for x in np.asarray(c.rolling(20).mean(), dtype=float)]
print(json.dumps(out))
