#!/usr/bin/env python3
"""Local clusters of 1, 2 and 3 nodes (tools/cluster.sh) running sweeps, and ListActive
through the load balancer meanwhile (BENCHMARKS.md, "Several nodes").

For each cluster size N: a cluster of N release nodes on the QuestDB named by
QUESTDB_HTTP / QUESTDB_PG, HAProxy in front, Redis as the broker; synthetic one-minute
bars (tools/bench/gen_bars.py) imported once per cluster; then sweeps of the SMA grid
(n1 5..30, n2 20..100 step 2, n1 < n2: 1,030 combinations each), watched to the end:
with --mode one (the default) one sweep started through the balancer, its shards
computed by every node; with --mode each, N sweeps, one started through each node, all
at once. Meanwhile PACED sessions (paced replays that stay active) are spread through
the balancer, and clients call ListActive every 20 ms (through the balancer, and straight to a node). Printed
per N: combinations per second over all nodes (the sweeps' combinations over the wall
time from the first start to the last end), the nodes' CPU seconds per combination
(from /proc), how many combinations each node computed (the coordinator's log), and
ListActive's p50, p99 and max latency with how many sessions it listed, through the
balancer and (called at the same time) straight to the first node.

Usage (from the repository root, after `swift build -c release`):

    .venv/bin/python tools/bench/cluster_bench.py [--sizes 1,2,3] [--mode one|each] [--bars 20000] [--paced 12]
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
import time

import grpc

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CLI = os.path.join(ROOT, ".build/release/backtest")


def sh(*args, **kw):
    return subprocess.run(args, check=True, capture_output=True, text=True, **kw).stdout


def cli(server, *args):
    return sh(CLI, *args, "--server", server)


def cpu_seconds(pid):
    fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def node_pids(directory, n):
    return [int(open(os.path.join(directory, f"node-{i}", "pid")).read()) for i in range(1, n + 1)]


def varint(data, i):
    value, shift = 0, 0
    while True:
        b = data[i]
        value |= (b & 0x7F) << shift
        i += 1
        if b < 0x80:
            return value, i
        shift += 7


def sessions_in(reply):
    """How many `sessions` (field 1) a ListActiveResponse holds: its top-level fields."""
    count, i = 0, 0
    while i < len(reply):
        key, i = varint(reply, i)
        length, i = varint(reply, i)  # every field of the message is length-delimited
        count += key >> 3 == 1
        i += length
    return count


def list_active_loop(address, stop, out):
    """ListActive at `address` every 20 ms: (seconds, sessions listed)."""
    channel = grpc.insecure_channel(address)
    call = channel.unary_unary("/backtest.v1.BacktestService/ListActive")
    grpc.channel_ready_future(channel).result(timeout=30)
    while not stop.is_set():
        t0 = time.perf_counter()
        reply = call(b"", timeout=30)
        out.append((time.perf_counter() - t0, sessions_in(reply)))
        time.sleep(0.02)
    channel.close()


def percentile(values, p):
    values = sorted(values)
    return values[min(len(values) - 1, int(round(p / 100 * (len(values) - 1))))]


def share(directory, size):
    """Each node's combinations, from the coordinators' "sweep ended" lines."""
    out = {}
    for i in range(1, size + 1):
        for line in open(os.path.join(directory, f"node-{i}", "backtestd.log")):
            if "sweep ended" in line and "nodes=" in line:
                for part in line.split("nodes=", 1)[1].split()[0].split(","):
                    node, count = part.rsplit("=", 1)
                    out[node] = out.get(node, 0) + int(count)
    return out


def run(size, bars_csv, paced, workdir, mode):
    directory = os.path.join(workdir, f"cluster-{size}")
    env = dict(os.environ, BACKTESTD_BIN=os.path.join(ROOT, ".build/release/backtestd"))
    exports = sh(os.path.join(ROOT, "tools/cluster.sh"), "start", directory, "--nodes", str(size),
                 "--name", f"bench{size}-{os.getpid()}", env=env)
    values = dict(line.split(" ", 1)[1].split("=", 1) for line in exports.splitlines() if line.startswith("export "))
    values = {k: v.strip("'\"") for k, v in values.items()}
    lb = values["CLUSTER_LB"]
    nodes = [values[f"CLUSTER_NODE_{i}"] for i in range(1, size + 1)]
    symbol = f"BENCH{size}X{os.getpid()}"
    try:
        cli(lb, "import", bars_csv, "--symbol", symbol, "--timeframe", "1m")
        start, end = "2020-01-01", "2021-01-01"
        for k in range(paced):
            cli(lb, "start", "--symbol", symbol, "--timeframe", "1m", "--from", start, "--to", end,
                "--acceleration", "60", "--label", f"paced={k}")
        samples, direct, stop = [], [], threading.Event()
        lister = threading.Thread(target=list_active_loop, args=(lb, stop, samples))
        lister.start()
        # The same call straight to the first node: what the balancer adds, and what not.
        direct_lister = threading.Thread(target=list_active_loop, args=(nodes[0], stop, direct))
        direct_lister.start()
        pids = node_pids(directory, size)
        cpu_before = sum(cpu_seconds(p) for p in pids)
        t0 = time.perf_counter()
        procs = [subprocess.Popen(
            [CLI, "sweep", "--symbol", symbol, "--timeframe", "1m", "--from", start, "--to", end,
             "--strategy", "sma_cross", "--param", "n1=5..30", "--param", "n2=20..100:2", "--where", "n1 < n2",
             "--maximize", "sharpe_ratio", "--watch", "--json", "--server", node],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for node in (nodes if mode == "each" else [lb])]
        combinations = 0
        for p in procs:
            out, err = p.communicate()
            if p.returncode != 0:
                raise SystemExit(f"sweep failed: {err}")
            sweep = json.loads(out.splitlines()[-1])["sweep"]
            combinations += int(sweep["total"])
        wall = time.perf_counter() - t0
        cpu = sum(cpu_seconds(p) for p in pids) - cpu_before
        stop.set()
        lister.join()
        direct_lister.join()
        latencies = [s for s, _ in samples]
        direct_latencies = [s for s, _ in direct]
        return {
            "nodes": size, "sweeps": len(procs), "combinations": combinations, "wall_seconds": round(wall, 2),
            "combinations_per_second": round(combinations / wall, 1),
            "cpu_seconds_per_combination": round(cpu / combinations, 4),
            "list_active_calls": len(latencies),
            "list_active_ms": {"p50": round(percentile(latencies, 50) * 1000, 2),
                               "p99": round(percentile(latencies, 99) * 1000, 2),
                               "max": round(max(latencies) * 1000, 2)},
            "list_active_direct_ms": {"p50": round(percentile(direct_latencies, 50) * 1000, 2),
                                      "p99": round(percentile(direct_latencies, 99) * 1000, 2),
                                      "max": round(max(direct_latencies) * 1000, 2)},
            "sessions_listed": max(n for _, n in samples),
            "combinations_by_node": share(directory, size),
            "load_after": os.getloadavg()[0],
        }
    finally:
        subprocess.run([os.path.join(ROOT, "tools/cluster.sh"), "stop", directory], capture_output=True)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", default="1,2,3")
    parser.add_argument("--bars", type=int, default=200000)
    parser.add_argument("--paced", type=int, default=12)
    parser.add_argument("--mode", choices=["one", "each"], default="one")
    args = parser.parse_args()
    if not os.environ.get("QUESTDB_HTTP") or not os.environ.get("QUESTDB_PG"):
        raise SystemExit("set QUESTDB_HTTP and QUESTDB_PG (a running QuestDB)")
    workdir = tempfile.mkdtemp(prefix="cluster-bench-")
    bars_csv = os.path.join(workdir, "bars.csv")
    sh(sys.executable, os.path.join(ROOT, "tools/bench/gen_bars.py"), str(args.bars), bars_csv)
    for size in [int(s) for s in args.sizes.split(",")]:
        print(json.dumps(run(size, bars_csv, args.paced, workdir, args.mode)), flush=True)


if __name__ == "__main__":
    main()
