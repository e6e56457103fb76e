#!/usr/bin/env python3
"""What clients that read slowly or not at all cost the server (BENCHMARKS.md,
"Send buffers"): the daemon's peak RSS and another client's Health/Check latency
while result streams are held unread or read all at once.

usage: send_buffers.py BIN_DIR [BARS] [SCENARIO,...]

Starts BIN_DIR/backtestd on a SQLite store of its own, imports BARS one-minute bars
(default 500,000; tools/bench/gen_bars.py), runs one backtest over them, then, each
from a reset peak:
  stalled xN  N connections, each with 100 GetEquityCurve calls (chunk 50,000) whose
              flow-control windows stay 0 (Tests/HTTP2TransportTests/Clients/h2_limits.py)
  readers     100 GetEquityCurve calls (chunk 50,000) on one grpcio channel, read in full
and prints, per scenario, the RSS the daemon grew by and Health/Check latencies (a
call every 50 ms on a channel of its own, 2 s deadline), then its RSS 12 s later.

Needs grpcio, grpcio-health-checking, hyperframe, hpack and numpy (tools/requirements-test.txt).
"""
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
H2_LIMITS = os.path.join(ROOT, "Tests/HTTP2TransportTests/Clients/h2_limits.py")
METHOD = "/backtest.v1.BacktestService/GetEquityCurve"


def varint(n):
    out = b""
    while True:
        b, n = n & 0x7F, n >> 7
        out += bytes([b | 0x80]) if n else bytes([b])
        if not n:
            return out


def equity_request(session_id, chunk):
    """GetEquityCurveRequest{session_id, chunk_size}, encoded by hand (no stubs needed)."""
    sid = session_id.encode()
    return b"\x0a" + varint(len(sid)) + sid + b"\x20" + varint(chunk)


def status_kb(pid, field):
    for line in open(f"/proc/{pid}/status"):
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise KeyError(field)


class Probe(threading.Thread):
    """Health/Check every 50 ms until stopped; keeps latencies and failures."""

    def __init__(self, port):
        super().__init__(daemon=True)
        self.stub = health_pb2_grpc.HealthStub(grpc.insecure_channel(f"127.0.0.1:{port}"))
        self.stub.Check(health_pb2.HealthCheckRequest(), timeout=10)
        self.latencies, self.failures, self.running = [], 0, True

    def run(self):
        while self.running:
            t0 = time.monotonic()
            try:
                self.stub.Check(health_pb2.HealthCheckRequest(), timeout=2)
                self.latencies.append((time.monotonic() - t0) * 1000)
            except grpc.RpcError:
                self.failures += 1
            time.sleep(0.05)

    def summary(self):
        self.running = False
        self.join()
        lat = sorted(self.latencies) or [float("nan")]
        return (f"health n={len(self.latencies)} failed={self.failures} p50={lat[len(lat) // 2]:.1f} "
                f"p99={lat[min(len(lat) - 1, int(len(lat) * 0.99))]:.1f} max={lat[-1]:.1f} ms")


def main():
    bin_dir, bars = sys.argv[1], int(sys.argv[2]) if len(sys.argv) > 2 else 500_000
    wanted = sys.argv[3].split(",") if len(sys.argv) > 3 else ["stalled-x1", "stalled-x3", "readers"]
    work = tempfile.mkdtemp(prefix="send-buffers-")
    daemon = None
    try:
        csv = os.path.join(work, "bars.csv")
        subprocess.run([sys.executable, os.path.join(ROOT, "tools/bench/gen_bars.py"), str(bars), csv], check=True)
        port_file = os.path.join(work, "port")
        daemon = subprocess.Popen(
            [os.path.join(bin_dir, "backtestd"), "--port", "0", "--port-file", port_file,
             "--store", f"sqlite:{work}/db.sqlite", "--log-level", "warning"] + os.environ.get("BACKTESTD_ARGS", "").split())
        while not os.path.exists(port_file) or not open(port_file).read().strip():
            time.sleep(0.05)
        port = open(port_file).read().strip()
        cli = [os.path.join(bin_dir, "backtest")]
        env = dict(os.environ, BACKTEST_SERVER=f"127.0.0.1:{port}")
        subprocess.run(cli + ["import", csv, "--symbol", "BENCH", "--timeframe", "1m"], env=env, check=True,
                       stdout=subprocess.DEVNULL)
        session_id = subprocess.run(
            cli + ["start", "--symbol", "BENCH", "--timeframe", "1m", "--from", "2020-01-01", "--to", "2030-01-01",
                   "--strategy", "sma_cross", "--param", "n1=10", "--param", "n2=30"],
            env=env, check=True, capture_output=True, text=True).stdout.strip()
        subprocess.run(cli + ["watch", session_id], env=env, check=True, stdout=subprocess.DEVNULL)
        request = equity_request(session_id, 50_000)
        print(f"backtestd {bin_dir}, {bars} bars, equity curve of one session, chunk 50,000")
        print(f"idle RSS {status_kb(daemon.pid, 'VmRSS') / 1024:.0f} MiB")

        def scenario(name, body):
            if name not in wanted:
                return
            open(f"/proc/{daemon.pid}/clear_refs", "w").write("5")
            before = status_kb(daemon.pid, "VmRSS")
            probe = Probe(port)
            probe.start()
            t0 = time.monotonic()
            extra = body()
            seconds = time.monotonic() - t0
            grown = (status_kb(daemon.pid, "VmHWM") - before) / 1024
            print(f"{name:<12} peak RSS +{grown:.0f} MiB, {seconds:.1f} s{extra}; {probe.summary()}")
            # The daemon returns freed memory once idle (its trimmer looks every 5 s).
            time.sleep(12)
            print(f"{'':<12} RSS 12 s later {status_kb(daemon.pid, 'VmRSS') / 1024:.0f} MiB")

        def stalled(conns):
            subprocess.run([sys.executable, H2_LIMITS, port, "stalled_readers", str(conns), "100", METHOD,
                            request.hex(), "8", "/grpc.health.v1.Health/Check"], check=True, stdout=subprocess.DEVNULL)
            return ""

        for conns in (1, 3):
            scenario(f"stalled-x{conns}", lambda conns=conns: stalled(conns))

        def readers():
            channel = grpc.insecure_channel(f"127.0.0.1:{port}",
                                            options=[("grpc.max_receive_message_length", 64 << 20)])
            call = channel.unary_stream(METHOD, request_serializer=None, response_deserializer=None)
            received = [0] * 100

            def read(i):
                for message in call(request, timeout=600):
                    received[i] += len(message)

            threads = [threading.Thread(target=read, args=(i,)) for i in range(100)]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            return f", {sum(received) / 1e6:.0f} MB received"

        scenario("readers", readers)
    finally:
        if daemon:
            daemon.terminate()
            daemon.wait()
        shutil.rmtree(work, ignore_errors=True)


main()
