#!/usr/bin/env python3
"""The official QuestDB client's line-protocol bytes for a set of rows, as the
reference our ILP encoder must equal byte for byte. Writes OUT/rows.json (the rows,
doubles as exact repr strings) and OUT/expected.bin.
usage: ilp_reference.py OUT_DIR"""
import json
import os
import random
import sys
import warnings

warnings.filterwarnings("ignore", category=DeprecationWarning)
from questdb.ingress import Buffer, TimestampMicros, TimestampNanos  # noqa: E402

out = sys.argv[1]
nasty = ["a b", "a,b", "a=b", 'say "hi"', "back\\slash", "new\nline", "cr\rhere", "ünï ✓ 𝄞", "x = y, z\\ \"q\"\n"]
rows = []
rows.append({"table": "my table", "symbols": [["sym key", "a b,c=d\\e\nf"]],
             "columns": [["s", "string", 'he said "hi"\\ \n ok'], ["i", "long", "42"], ["f", "double", "1.5"],
                         ["b", "bool", "true"], ["ts", "micros", "1700000000000000"]], "at": 1700000000123456789})
for i, text in enumerate(nasty):
    rows.append({"table": "backtest_sessions", "symbols": [["symbol", text], ["label ünï", text]],
                 "columns": [["error_message", "string", text], ["n", "long", str(i)]], "at": i})
rng = random.Random(7)
specials = [0.0, -0.0, 1.0, 0.1, 1e-7, 1e-4, 1e-5, 1e15, 1e16, 1e300, 5e-324, 2.2250738585072014e-308,
            1.7976931348623157e308, 123456789012345678.0, float("nan"), float("inf"), float("-inf")]
doubles = specials + [rng.uniform(-1e6, 1e6) for _ in range(200)] + [rng.lognormvariate(0, 30) for _ in range(200)]
for j, d in enumerate(doubles):
    rows.append({"table": "backtest_equity_curve", "symbols": [["session_id", f"s{j}"]],
                 "columns": [["equity", "double", repr(d)], ["trades", "long", str(rng.randint(-2**63, 2**63 - 1))],
                             ["open", "bool", "false"]], "at": rng.randint(0, 2**62)})

buf = Buffer(protocol_version=1)
for r in rows:
    cols = {}
    for name, kind, v in r["columns"]:
        cols[name] = {"string": lambda s: s, "long": int, "double": float, "bool": lambda s: s == "true",
                      "micros": lambda s: TimestampMicros(int(s))}[kind](v)
    buf.row(r["table"], symbols=dict(r["symbols"]), columns=cols, at=TimestampNanos(r["at"]))
os.makedirs(out, exist_ok=True)
json.dump({"rows": rows}, open(os.path.join(out, "rows.json"), "w"))
open(os.path.join(out, "expected.bin"), "wb").write(bytes(buf))
print(json.dumps({"rows": len(rows), "bytes": len(bytes(buf))}))
