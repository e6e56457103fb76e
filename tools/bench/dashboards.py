#!/usr/bin/env python3
"""What dashboards watching a session cost its run (issue 14, BENCHMARKS.md).

usage: dashboards.py BIN_DIR [BARS] [WATCHERS] [ROUNDS] [--nice] [--pin]

Starts BIN_DIR/backtestd on a fresh SQLite store with one run slot, imports BARS
seeded 1-minute bars (gen_bars.py; default 5,000,000), then per round runs the same
unpaced SMA 10/20 session twice, once watched by nobody and once by WATCHERS
(default 100) dashboards, in alternating order. A dashboard is what the page does:
WatchProgress over the Connect protocol with the JSON codec on plaintext HTTP/1.1
(`application/connect+json`, min_interval 250 ms as the page asks), one connection
each. The watchers attach while the session waits for the slot (a paced
session holds it), so they see the whole run. The run's time is the server's own
(`completed_at - started_at`); the figure compared is bars per second. Also printed:
the CPU time the server and this client (the watchers) used during each run, since
on a small machine the watchers' own process competes with the run for the cores.

With --nice the watchers' process lowers its own priority (nice 19) once the server
is up, so that on a small machine it takes the cores the run leaves idle rather than
sharing them with the run: closer to dashboards in browsers on other machines.

With --pin the server runs on the first core only and the watchers' process on the
second: the watchers' own work then takes nothing from the run, and what the
comparison shows is the server's cost of serving them (as with dashboards in browsers
on other machines), on a one-core server.

Needs the Python standard library and numpy (for gen_bars.py).
"""
import http.client
import json
import os
import resource
import shutil
import socket
import statistics
import struct
import subprocess
import sys
import tempfile
import threading
import time
from datetime import datetime

HERE = os.path.dirname(os.path.abspath(__file__))
SERVICE = "/backtest.v1.BacktestService/"


def unary(port, method, request):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    conn.request("POST", SERVICE + method, json.dumps(request), {"content-type": "application/json"})
    response = conn.getresponse()
    body = json.loads(response.read() or b"{}")
    conn.close()
    if response.status != 200:
        raise RuntimeError(f"{method}: HTTP {response.status} {body}")
    return body


class Watcher(threading.Thread):
    """One dashboard: a Connect JSON stream of WatchProgress, read to its end."""

    def __init__(self, port, session_id):
        super().__init__(daemon=True)
        self.port, self.session_id = port, session_id
        self.events, self.snapshot, self.terminal = 0, threading.Event(), None

    def run(self):
        body = json.dumps({"sessionId": self.session_id, "minInterval": "0.25s"}).encode()
        s = socket.create_connection(("127.0.0.1", self.port))
        s.sendall(
            f"POST {SERVICE}WatchProgress HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            f"content-type: application/connect+json\r\ncontent-length: {len(body) + 5}\r\n\r\n".encode()
            + b"\0" + struct.pack(">I", len(body)) + body)
        data = b""
        while b"\r\n\r\n" not in data:
            data += s.recv(65536)
        data = data.split(b"\r\n\r\n", 1)[1]
        stream = b""
        while True:
            # Chunked transfer coding: size line, bytes, CRLF.
            while b"\r\n" not in data:
                data += s.recv(65536)
            line, data = data.split(b"\r\n", 1)
            size = int(line, 16)
            if size == 0:
                break
            while len(data) < size + 2:
                data += s.recv(65536)
            stream += data[:size]
            data = data[size + 2:]
            while len(stream) >= 5:
                flags, n = stream[0], struct.unpack(">I", stream[1:5])[0]
                if len(stream) < 5 + n:
                    break
                message, stream = json.loads(stream[5:5 + n]), stream[5 + n:]
                if flags & 2:
                    self.terminal = message
                    s.close()
                    return
                self.events += 1
                if message.get("kind") == "PROGRESS_EVENT_KIND_SNAPSHOT":
                    self.snapshot.set()
        s.close()


def cpu(pid):
    """A process's user and system CPU seconds so far (/proc/PID/stat)."""
    fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def client_cpu():
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def seconds(timestamp):
    return datetime.fromisoformat(timestamp.replace("Z", "+00:00")).timestamp()


def main():
    nice = "--nice" in sys.argv
    pin = "--pin" in sys.argv
    args = [a for a in sys.argv[1:] if a not in ("--nice", "--pin")]
    bin_dir = args[0]
    bars = int(args[1]) if len(args) > 1 else 5_000_000
    watchers = int(args[2]) if len(args) > 2 else 100
    rounds = int(args[3]) if len(args) > 3 else 3
    tmp = tempfile.mkdtemp(prefix="dashboards-")
    csv = os.path.join(tmp, "bars.csv")
    subprocess.run([sys.executable, os.path.join(HERE, "gen_bars.py"), str(bars), csv], check=True)
    daemon = subprocess.Popen(
        (["taskset", "-c", "0"] if pin else []) + [os.path.join(bin_dir, "backtestd"), "--store", f"sqlite:{tmp}/b.db", "--port", "0",
         "--port-file", f"{tmp}/port", "--max-running", "1"],
        stdout=subprocess.DEVNULL, stderr=open(os.path.join(tmp, "log"), "w"))
    try:
        while not os.path.exists(f"{tmp}/port") or not open(f"{tmp}/port").read().strip():
            time.sleep(0.05)
        port = int(open(f"{tmp}/port").read())
        if nice:
            os.nice(19)  # after the server started: it keeps its own priority
        if pin:
            os.sched_setaffinity(0, {1})  # this process and the watcher threads it starts
        subprocess.run([os.path.join(bin_dir, "backtest"), "import", csv, "--symbol", "SYN", "--timeframe", "1m",
                        "--server", f"127.0.0.1:{port}"], check=True, stdout=subprocess.DEVNULL)
        request = {
            "symbol": "SYN", "timeframe": "1m", "initialCapital": 100000,
            "startTime": "2020-01-01T00:00:00Z", "endTime": "2100-01-01T00:00:00Z",
            "strategy": {"builtin": {"name": "sma_cross", "params": {"n1": 10, "n2": 20}}},
        }
        results = {0: [], watchers: []}
        for r in range(rounds):
            for count in ([0, watchers] if r % 2 == 0 else [watchers, 0]):
                # A paced session holds the only slot while the measured one waits: a
                # simulated minute per millisecond, so its pauses stay under the 10 ms
                # after which a paced run gives its slot back (DESIGN 2.2).
                blocker = unary(port, "StartBacktest", dict(request, accelerationFactor=60000))["sessionId"]
                measured = unary(port, "StartBacktest", request)["sessionId"]
                attached = [Watcher(port, measured) for _ in range(count)]
                for w in attached:
                    w.start()
                for w in attached:
                    w.snapshot.wait(60)
                waiting = unary(port, "GetSession", {"sessionId": measured})["session"]["status"]
                assert waiting == "SESSION_STATUS_STARTED", f"the measured session did not wait: {waiting}"
                server_before, client_before = cpu(daemon.pid), client_cpu()
                unary(port, "StopBacktest", {"sessionId": blocker})
                while True:
                    session = unary(port, "GetSession", {"sessionId": measured})["session"]
                    if session["status"] not in ("SESSION_STATUS_STARTED", "SESSION_STATUS_RUNNING"):
                        break
                    time.sleep(0.05)
                for w in attached:
                    w.join(60)
                server_cpu, watchers_cpu = cpu(daemon.pid) - server_before, client_cpu() - client_before
                assert session["status"] == "SESSION_STATUS_COMPLETED", session
                run = seconds(session["completedAt"]) - seconds(session["startedAt"])
                done = int(session["eventsProcessed"])
                ended = sum(1 for w in attached if w.terminal is not None)
                events = statistics.mean(w.events for w in attached) if attached else 0
                results[count].append(done / run)
                print(f"round {r + 1}: {count:4d} watchers  {done} bars in {run:.3f} s = {done / run:,.0f} bars/s"
                      f"  cpu: server {server_cpu:.2f} s, client {watchers_cpu:.2f} s"
                      + (f"  ({ended} streams ended, {events:.1f} events each)" if count else ""), flush=True)
        alone, watched = statistics.median(results[0]), statistics.median(results[watchers])
        print(f"median: alone {alone:,.0f} bars/s, with {watchers} watchers {watched:,.0f} bars/s: "
              f"{(alone - watched) / alone * 100:+.1f}% slower; load average {os.getloadavg()[0]:.1f}")
    finally:
        daemon.terminate()
        daemon.wait()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
