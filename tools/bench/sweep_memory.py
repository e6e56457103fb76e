#!/usr/bin/env python3
"""A 1,000,000-combination random-sample sweep with backtestd's memory sampled every
second (BENCHMARKS.md, "Parameter sweep (issue 13)", the 1M sample).

The sweep: the built-in `default` strategy (docs/DESIGN.md section 6.1) over six axes,

    momentum           0..0.01 step 0.0002   (51 values)
    volume_period      2..60                 (59)
    volume_ratio       0.5..3 step 0.1       (26)
    stop_loss_pct      1..20                 (20)
    take_profit_pct    1..40                 (40)
    trailing_stop_pct  0..10                 (11)

a grid of 688,459,200 combinations, sampled: `--sample 1000000 --seed 7` (the grid is
beyond ten times the combination limit, so grid positions are drawn, section 13.2),
ranked by sharpe_ratio, on sample-data/GOOG.csv (2,148 daily bars). backtestd runs on
a fresh SQLite file in the work directory; `backtest sweep ... --watch --json` follows
the sweep while this script reads VmRSS (and VmHWM) from /proc/PID/status of backtestd
every second.

Needs the release build (from the repository root):

    swift build -c release --product backtestd && swift build -c release --product backtest

Usage (from the repository root; plain python3, no packages):

    python3 tools/bench/sweep_memory.py [--sample N] [--workdir DIR] [--bin DIR]
        [--csv FILE --symbol S --timeframe T --from D --to D]

    --sample N     combinations drawn (default 1000000, the service's limit)
    --workdir DIR  the SQLite file and backtestd's log (default .build-bench, ignored by git)
    --bin DIR      where backtestd and backtest are (default .build/release)
    --csv FILE ... another bar file (default sample-data/GOOG.csv, GOOG, 1d, 2004-08-19, 2013-03-02)

Prints a line every 10 s (elapsed, combinations done, RSS, load average), then RSS before the sweep
(after the import), the peak, at the end, the high-water mark, the sweep's own
figures (total, done, failed, StartSweep -> COMPLETED, combinations/s, best), the
SQLite file's size and the load average before and after. Deletes the SQLite file.
"""
import json
import os
import signal
import subprocess
import sys
import threading
import time
from datetime import datetime

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
AXES = ["momentum=0..0.01:0.0002", "volume_period=2..60", "volume_ratio=0.5..3:0.1", "stop_loss_pct=1..20",
        "take_profit_pct=1..40", "trailing_stop_pct=0..10"]


def loadavg():
    with open("/proc/loadavg") as f:
        return " ".join(f.read().split()[:3])


def status(pid, field):
    """A /proc/PID/status field in MiB (VmRSS, VmHWM)."""
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    return float("nan")


def timestamp(text):
    head, _, frac = text.rstrip("Z").partition(".")
    return datetime.fromisoformat(head + "+00:00").timestamp() + (float("0." + frac) if frac else 0.0)


def main(argv):
    options = {"--sample": "1000000", "--workdir": os.path.join(ROOT, ".build-bench"),
               "--bin": os.path.join(ROOT, ".build", "release"), "--csv": os.path.join(ROOT, "sample-data", "GOOG.csv"),
               "--symbol": "GOOG", "--timeframe": "1d", "--from": "2004-08-19", "--to": "2013-03-02"}
    args = argv[1:]
    while args:
        if args[0] not in options or len(args) < 2:
            sys.stderr.write(__doc__)
            return 2
        options[args[0]] = args[1]
        args = args[2:]
    workdir, bindir = options["--workdir"], options["--bin"]
    os.makedirs(workdir, exist_ok=True)
    db = os.path.join(workdir, f"memory-{os.getpid()}.db")
    port_file = os.path.join(workdir, f"memory-port-{os.getpid()}")
    log = open(os.path.join(workdir, "backtestd-memory.log"), "w")
    daemon = subprocess.Popen(
        [os.path.join(bindir, "backtestd"), "--store", f"sqlite:{db}", "--port", "0", "--port-file", port_file],
        stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 30
        while not (os.path.exists(port_file) and open(port_file).read().strip()):
            if daemon.poll() is not None or time.monotonic() > deadline:
                raise SystemExit("backtestd did not start; see " + log.name)
            time.sleep(0.05)
        server = "127.0.0.1:" + open(port_file).read().strip()
        cli = os.path.join(bindir, "backtest")
        subprocess.run([cli, "import", options["--csv"], "--symbol", options["--symbol"], "--timeframe",
                        options["--timeframe"], "--server", server], check=True, stdout=subprocess.DEVNULL)
        time.sleep(1)
        before = status(daemon.pid, "VmRSS")
        load_before = loadavg()
        command = [cli, "sweep", "--symbol", options["--symbol"], "--timeframe", options["--timeframe"],
                   "--from", options["--from"], "--to", options["--to"], "--strategy", "default"]
        for axis in AXES:
            command += ["--param", axis]
        command += ["--sample", options["--sample"], "--seed", "7", "--maximize", "sharpe_ratio", "--watch",
                    "--interval", "1s", "--json", "--server", server]
        print(f"backtestd pid {daemon.pid}, RSS before the sweep {before:.1f} MiB; load average {load_before}",
              flush=True)
        print("$ backtest " + " ".join(a if " " not in a else repr(a) for a in command[1:]), flush=True)
        watcher = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
        last = {}

        def read():
            for text in watcher.stdout:
                if text.strip():
                    last["line"] = json.loads(text)

        reader = threading.Thread(target=read)
        reader.start()
        samples = []  # (seconds, done, rss)
        t0 = time.monotonic()
        while watcher.poll() is None:
            time.sleep(1)
            event = last.get("line", {})
            done = int(event.get("done", 0)) if "done" in event else None
            samples.append((time.monotonic() - t0, done, status(daemon.pid, "VmRSS")))
            if len(samples) % 10 == 0:
                s = samples[-1]
                print(f"  {s[0]:6.1f} s  done {s[1]}  RSS {s[2]:.1f} MiB  load {loadavg()}", flush=True)
        reader.join()
        wall = time.monotonic() - t0
        load_after = loadavg()
        end = status(daemon.pid, "VmRSS")
        hwm = status(daemon.pid, "VmHWM")
        sweep = last["line"]["sweep"]
        stored = timestamp(sweep["completedAt"]) - timestamp(sweep["createdAt"])
        best = last["line"]["results"][0] if last["line"].get("results") else {}
        rss = [s[2] for s in samples]
        print(f"sweep {sweep['sweepId']}: {sweep['status']}, total {sweep['total']}, done {sweep.get('done')}, "
              f"failed {sweep.get('failed', 0)}")
        print(f"StartSweep -> COMPLETED {stored:.1f} s ({int(sweep['total']) / stored:,.0f} combinations/s); "
              f"CLI wall {wall:.1f} s")
        if best:
            params = ", ".join(f"{p['name']}={p['value']}" for p in best["params"])
            print(f"best: {params}: sharpe_ratio {best['statistics'].get('sharpeRatio')}")
        print(f"RSS (MiB): before {before:.1f}, peak sampled {max(rss):.1f}, end {end:.1f}, VmHWM {hwm:.1f}; "
              f"{len(rss)} samples")
        step = max(1, len(samples) // 10)
        print("samples (s, done, RSS MiB): " + "; ".join(
            f"{s[0]:.0f}, {s[1]}, {s[2]:.1f}" for s in samples[::step] + samples[-1:]))
        size = sum(os.path.getsize(db + x) for x in ("", "-wal") if os.path.exists(db + x))
        print(f"SQLite file {size / 2**20:.0f} MiB; load average {load_before} -> {load_after}", flush=True)
        return 0 if sweep["status"] == "SESSION_STATUS_COMPLETED" else 1
    finally:
        daemon.send_signal(signal.SIGTERM)
        try:
            daemon.wait(timeout=30)
        except subprocess.TimeoutExpired:
            daemon.kill()
        log.close()
        for x in ("", "-wal", "-shm"):
            if os.path.exists(db + x):
                os.remove(db + x)
        if os.path.exists(port_file):
            os.remove(port_file)


if __name__ == "__main__":
    sys.exit(main(sys.argv))
