#!/usr/bin/env python3
"""Unary gRPC beside grpc-swift-2: Health/Check on backtestd and on a grpc-swift-2 peer
(BENCHMARKS.md, "Beside grpc-swift-2 (issue 17)").

Both servers are started once and measured in turn, alternating, by h2load (Debian
nghttp2-client) sending grpc.health.v1.Health/Check with an empty HealthCheckRequest.
Per run and server: CPU time the server process spent (utime + stime of
/proc/PID/stat, all its threads) divided by the calls, calls/s as h2load reports
them, and the most threads /proc/PID/status showed while h2load ran.

Syscalls per call by kind, each from one more run per server and scenario (their CPU
is not reported): --perf-syscalls counts them with the kernel's syscall tracepoints
(`perf stat -e raw_syscalls:sys_enter,syscalls:sys_enter_futex,... -p PID`), which
leaves the server's speed, and so its batching, as it is; --strace runs `strace -f -c
-p PID`, which slows every syscall down, so more calls pile up per wake-up and the
batching servers show fewer syscalls per call than they make unobserved.

Build, from the repository root:

    swift build -c release --product backtestd
    swift build -c release --package-path tools/bench/grpc-swift-peer

Usage:

    python3 tools/bench/unary_peers.py BACKTESTD PEER_HEALTH [--rounds 3] [--perf-syscalls]
        [--strace] [--syscall-calls 20000] [--scenario 100000:16:32] [--scenario 50000:1000:1]
        [--h2load-threads 1]

h2load and nghttp come with tools/setup.sh (nghttp2-client); --perf-syscalls needs
Debian's linux-perf and readable syscall tracepoints, --strace needs strace: neither
is in tools/setup.sh.

BACKTESTD is the backtestd binary (started on a SQLite store in a temporary
folder), PEER_HEALTH the peer-health binary of tools/bench/grpc-swift-peer, or another
backtestd build (a file named backtestd*) to measure a change against the build before. A
scenario is CALLS:CONNECTIONS:STREAMS (h2load -n, -c, -m); the default is the two
above. Before measuring, each server is checked to answer grpc-status 0 with the
SERVING message (nghttp, same Debian package) and warmed with a short h2load run.
"""
import argparse
import os
import re
import resource
import shutil
import shlex
import signal
import subprocess
import sys
import tempfile
import threading
import time

METHOD = "/grpc.health.v1.Health/Check"
# The empty HealthCheckRequest in gRPC's framing: not compressed, length 0.
REQUEST = b"\x00\x00\x00\x00\x00"
# HealthCheckResponse{status: SERVING} framed: what both servers must answer.
SERVING = b"\x00\x00\x00\x00\x02\x08\x01"
TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid):
    """User + system CPU seconds of the whole process (all threads, live and ended)."""
    with open(f"/proc/{pid}/stat") as f:
        # The command name may hold spaces: fields count from after its closing parenthesis.
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


def threads(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("Threads:"):
                return int(line.split()[1])
    return 0


def loadavg():
    with open("/proc/loadavg") as f:
        return " ".join(f.read().split()[:3])


class Server:
    def __init__(self, name, argv, port_from, stdout=subprocess.DEVNULL):
        self.name = name
        self.process = subprocess.Popen(argv, stdout=stdout, stderr=subprocess.DEVNULL, text=True)
        try:
            self.port = port_from(self.process)
        except BaseException:
            self.process.kill()
            raise
        self.pid = self.process.pid

    def stop(self):
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def start_backtestd(binary, work, name="backtestd"):
    os.makedirs(work, exist_ok=True)
    port_file = os.path.join(work, "port")

    def port_from(process):
        deadline = time.time() + 60
        while not (os.path.exists(port_file) and open(port_file).read().strip()):
            if process.poll() is not None or time.time() > deadline:
                sys.exit(f"backtestd did not start (exit {process.returncode})")
            time.sleep(0.05)
        return int(open(port_file).read())

    return Server(name, [binary, "--port", "0", "--port-file", port_file,
                                "--store", f"sqlite:{work}/db.sqlite", "--log-level", "warning"], port_from)


def start_peer(binary):
    def port_from(process):
        line = process.stdout.readline()
        if not line.strip().isdigit():
            sys.exit(f"peer-health did not print its port: {line!r}")
        return int(line)

    # Only the port is printed, so the pipe never fills.
    return Server("grpc-swift-2", [binary, "0"], port_from, stdout=subprocess.PIPE)


def check_answers(server, body):
    """The server answers Check with SERVING and grpc-status 0 (h2load counts any 200)."""
    out = subprocess.run(["nghttp", "-v", "-H", ":method: POST", "-H", "content-type: application/grpc",
                          "-H", "te: trailers", "-d", body, f"http://127.0.0.1:{server.port}{METHOD}"],
                         capture_output=True, timeout=30)
    if b"grpc-status: 0" not in out.stdout or SERVING not in out.stdout:
        sys.exit(f"{server.name} did not answer Check with SERVING and grpc-status 0:\n"
                 f"{out.stdout.decode(errors='replace')}")


def h2load(server, body, calls, conns, streams, h2threads):
    argv = ["h2load", "-n", str(calls), "-c", str(conns), "-m", str(streams), "-t", str(h2threads),
            "-d", body, "-H", "content-type: application/grpc", "-H", "te: trailers",
            f"http://127.0.0.1:{server.port}{METHOD}"]
    out = subprocess.run(argv, capture_output=True, text=True).stdout
    done = re.search(r"requests: \d+ total, \d+ started, \d+ done, (\d+) succeeded", out)
    rate = re.search(r"finished in [\d.]+\w+, ([\d.]+) req/s", out)
    if not done or not rate or int(done.group(1)) != calls:
        sys.exit(f"h2load against {server.name} failed:\n{out}")
    return float(rate.group(1)), argv


def measure(server, body, calls, conns, streams, h2threads):
    peak = [threads(server.pid)]
    running = threading.Event()
    running.set()

    def sample():
        while running.is_set():
            peak[0] = max(peak[0], threads(server.pid))
            time.sleep(0.02)

    sampler = threading.Thread(target=sample)
    sampler.start()
    before = cpu_seconds(server.pid)
    rate, argv = h2load(server, body, calls, conns, streams, h2threads)
    cpu = cpu_seconds(server.pid) - before
    running.clear()
    sampler.join()
    return {"us": cpu / calls * 1e6, "rate": rate, "threads": peak[0], "argv": argv}


def syscalls(server, body, calls, conns, streams, h2threads):
    """Syscalls per call by kind, from strace -f -c attached to the server for one h2load run."""
    with tempfile.NamedTemporaryFile("r", suffix=".strace") as out:
        tracer = subprocess.Popen(["strace", "-f", "-c", "-o", out.name, "-p", str(server.pid)],
                                  stderr=subprocess.DEVNULL)
        time.sleep(1.0)  # attaching to every thread takes a moment
        h2load(server, body, calls, conns, streams, h2threads)
        tracer.send_signal(signal.SIGINT)
        tracer.wait()
        counts = {}
        for line in out.read().splitlines():
            # % time, seconds, usecs/call, calls, [errors,] syscall
            parts = line.split()
            if len(parts) >= 5 and parts[0][0].isdigit() and parts[-1] != "total":
                counts[parts[-1]] = int(parts[3])
    return {name: n / calls for name, n in sorted(counts.items(), key=lambda kv: -kv[1])}


# Kinds counted one by one by --perf-syscalls (the total counts every kind).
SYSCALL_KINDS = ("futex", "read", "readv", "recvfrom", "recvmsg", "write", "writev", "sendto", "sendmsg",
                 "epoll_wait", "epoll_pwait", "epoll_ctl", "accept", "accept4", "close", "shutdown", "fcntl",
                 "setsockopt", "getsockopt", "getsockname", "getpeername", "getrandom", "mprotect", "mmap",
                 "munmap", "madvise", "timerfd_settime", "eventfd2", "sched_yield", "nanosleep",
                 "clock_nanosleep", "rt_sigprocmask", "ioctl", "brk")
TRACEPOINTS = "/sys/kernel/tracing/events/syscalls"


def perf_syscalls(server, body, calls, conns, streams, h2threads):
    """Syscalls per call by kind from the kernel's syscall tracepoints (perf stat -p PID):
    unlike strace, this does not slow the server down, so batching is what it is in the
    measured runs."""
    kinds = [k for k in SYSCALL_KINDS if os.path.isdir(f"{TRACEPOINTS}/sys_enter_{k}")]
    events = ",".join(["raw_syscalls:sys_enter"] + [f"syscalls:sys_enter_{k}" for k in kinds])
    with tempfile.NamedTemporaryFile("r", suffix=".perf") as out:
        counter = subprocess.Popen(["perf", "stat", "-x", ",", "-e", events, "-p", str(server.pid), "-o", out.name],
                                   stderr=subprocess.DEVNULL)
        time.sleep(1.0)
        h2load(server, body, calls, conns, streams, h2threads)
        counter.send_signal(signal.SIGINT)
        counter.wait()
        counts = {}
        for line in out.read().splitlines():
            fields = line.split(",")
            if len(fields) > 2 and fields[0].isdigit():
                counts[fields[2].split(":sys_enter")[-1].lstrip("_") or "total"] = int(fields[0])
    if "total" not in counts:
        sys.exit(f"perf stat counted nothing for {server.name} (are the syscall tracepoints readable?)")
    total = counts.pop("total")
    counts["other"] = total - sum(counts.values())
    return total / calls, {name: n / calls for name, n in sorted(counts.items(), key=lambda kv: -kv[1])}


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("backtestd")
    parser.add_argument("peer_health")
    parser.add_argument("--rounds", type=int, default=3, help="measured runs per server and scenario")
    parser.add_argument("--scenario", action="append", help="CALLS:CONNECTIONS:STREAMS (repeatable)")
    parser.add_argument("--h2load-threads", type=int, default=1)
    parser.add_argument("--strace", action="store_true", help="also count syscalls per call under strace -f -c")
    parser.add_argument("--perf-syscalls", action="store_true",
                        help="also count syscalls per call from the kernel's tracepoints (perf stat)")
    parser.add_argument("--syscall-calls", type=int, default=20000, help="calls of each syscall-counting run")
    args = parser.parse_args()
    scenarios = [tuple(int(x) for x in s.split(":")) for s in (args.scenario or ["100000:16:32", "50000:1000:1"])]

    # 1,000 connections need as many descriptors in h2load and in each server.
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, min(hard, 65536)), hard))

    work = tempfile.mkdtemp(prefix="unary-peers-")
    body = os.path.join(work, "check.bin")
    with open(body, "wb") as f:
        f.write(REQUEST)
    servers = []
    try:
        servers.append(start_backtestd(args.backtestd, work))  # one by one: a failed start stops the other
        if os.path.basename(args.peer_health).startswith("backtestd"):
            # Two builds of ours side by side (a change measured against the build before it).
            servers.append(start_backtestd(args.peer_health, os.path.join(work, "second"), "backtestd (2nd)"))
        else:
            servers.append(start_peer(args.peer_health))
        for server in servers:
            check_answers(server, body)
            h2load(server, body, 5000, 16, 32, 1)  # warm-up: first connections, allocator, caches
            print(f"{server.name}: pid {server.pid}, port {server.port}, {threads(server.pid)} threads idle")
        print(f"cores {os.cpu_count()}, load average {loadavg()} at start")
        results = {}
        for calls, conns, streams in scenarios:
            key = f"{conns} conns x {streams} streams"
            print(f"\n{key}, {calls} calls a run")
            for run in range(args.rounds):
                # Alternate which server goes first, so a trend in the machine's load hits both.
                order = servers if run % 2 == 0 else servers[::-1]
                for server in order:
                    r = measure(server, body, calls, conns, streams, args.h2load_threads)
                    results.setdefault((key, server.name), []).append(r)
                    print(f"  {server.name:13} {r['us']:6.1f} us/call  {r['rate']:9.0f} calls/s  "
                          f"{r['threads']:3d} threads  (load {loadavg()})", flush=True)
            print(f"  h2load: {shlex.join(results[(key, servers[0].name)][0]['argv'])}")
            counted = max(args.syscall_calls, conns)
            for server in servers if args.perf_syscalls else []:
                total, per_call = perf_syscalls(server, body, counted, conns, streams, args.h2load_threads)
                kinds = ", ".join(f"{name} {n:.2f}" for name, n in per_call.items() if n >= 0.01)
                print(f"  {server.name:13} {total:.2f} syscalls/call ({counted} calls, perf stat): {kinds}",
                      flush=True)
            for server in servers if args.strace else []:
                per_call = syscalls(server, body, counted, conns, streams, args.h2load_threads)
                total = sum(per_call.values())
                kinds = ", ".join(f"{name} {n:.2f}" for name, n in per_call.items() if n >= 0.01)
                print(f"  {server.name:13} {total:.2f} syscalls/call ({counted} calls under strace): {kinds}",
                      flush=True)
        print("\nsummary (min-max over the runs)")
        for (key, name), runs in results.items():
            us = [r["us"] for r in runs]
            rate = [r["rate"] for r in runs]
            thr = [r["threads"] for r in runs]
            print(f"  {key:24} {name:13} {min(us):.1f}-{max(us):.1f} us/call, "
                  f"{min(rate):.0f}-{max(rate):.0f} calls/s, {min(thr)}-{max(thr)} threads")
        print(f"load average {loadavg()} at end")
    finally:
        for server in servers:
            server.stop()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
