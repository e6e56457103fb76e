#!/usr/bin/env python3
"""Soak benchmark (issue 16, BENCHMARKS.md "Soak"): many short sessions through one
backtestd, with watchers attaching at random times, while the daemon's RSS, open
descriptors, threads and the store's size and WAL are sampled over time.

usage: soak.py BIN_DIR [--store sqlite|questdb] [--sessions N] [options]

Starts BIN_DIR/backtestd on 127.0.0.1 with a fresh store of its own (SQLite in a work
directory, or QuestDB at --questdb-http/--questdb-pg, default $QUESTDB_HTTP/$QUESTDB_PG),
imports sample-data/GOOG.csv (1d candles) with BIN_DIR/backtest, then runs N sessions
(sma_cross over the whole range, acceleration 0, n1/n2 varied) from --clients threads:

  - a --watch-share of them start and then watch at once (WatchProgress right after
    StartBacktest: the case where a terminal event published before the watch was
    subscribed could be missed); a --cli-share of all sessions do the same through
    `backtest start --watch --json`, the command of issue 16's report;
  - the rest start and poll GetSession until the session has ended;
  - --watchers threads (default 50) attach, again and again at random times, to a random
    session that is running or just ended.

Every watch must carry a SNAPSHOT first and exactly one TERMINAL, last, whose status
GetSession then reports too. At the end every started session must be COMPLETED,
readable with GetSession, and listed by ListSessions under this run's label ("every
session accounted for"). The exit status is 1 if any of that fails.

Samples are taken every --sample-seconds: daemon RSS (/proc/PID/status VmRSS),
descriptors (/proc/PID/fd), threads, the store's size and its WAL (SQLite: the database
and -wal files; QuestDB: table_storage() over HTTP /exec, the WAL transactions not yet
applied from wal_tables(), and, with --questdb-dir, the size of the tables' wal*
directories and QuestDB's own RSS), and sessions/s. A table over time (a row per
--row-every sessions) and a verdict follow: RSS, descriptors, threads and WAL are
"flat" when the largest value over the last quarter of the sessions is within a
tolerance of the largest over the second quarter (the first is warm-up), "GROWING"
otherwise. With --heap, the heap in use and SQLite's share of it are sampled too (gdb).
The exit status says nothing about growth: read the verdict.

Needs grpcio, grpcio-tools and protobuf (tools/requirements-test.txt).
"""
import argparse
import collections
import csv
import hashlib
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import urllib.request

import grpc

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PROTO = os.path.join(ROOT, "proto")
SAMPLE = os.path.join(ROOT, "sample-data/GOOG.csv")
FROM, TO = "2004-08-19", "2013-03-02"  # the whole of GOOG.csv, half-open

# ---------------------------------------------------------------------------------------
# Stubs


def load_stubs():
    """Python stubs for backtest.proto made by grpcio-tools into a cache directory keyed by
    the proto's hash, so a changed proto gets new stubs and an unchanged one is reused."""
    src = open(os.path.join(PROTO, "backtest/v1/backtest.proto"), "rb").read()
    out = os.path.join(tempfile.gettempdir(), "backtest-soak-stubs-" + hashlib.sha256(src).hexdigest()[:16])
    if not os.path.exists(os.path.join(out, "backtest/v1/backtest_pb2_grpc.py")):
        from grpc_tools import protoc
        tmp = tempfile.mkdtemp(prefix="soak-stubs-")
        include = os.path.join(os.path.dirname(protoc.__file__), "_proto")  # google/protobuf/*.proto
        if protoc.main(["protoc", "-I", PROTO, "-I", include, f"--python_out={tmp}",
                        f"--grpc_python_out={tmp}", "backtest/v1/backtest.proto"]) != 0:
            raise SystemExit("protoc failed")
        try:
            os.rename(tmp, out)
        except OSError:
            shutil.rmtree(tmp, ignore_errors=True)  # made by a concurrent run first
    sys.path.insert(0, out)
    from backtest.v1 import backtest_pb2, backtest_pb2_grpc
    return backtest_pb2, backtest_pb2_grpc


pb, pb_grpc = load_stubs()
S = pb.SessionStatus
K = pb.ProgressEventKind
ENDED = {S.SESSION_STATUS_COMPLETED, S.SESSION_STATUS_FAILED, S.SESSION_STATUS_STOPPED}
STATUS_NAME = {S.Name(v): v for v in S.values()}
KIND_NAME = {K.Name(v): v for v in K.values()}

# ---------------------------------------------------------------------------------------
# The daemon and what is measured of it


def proc_status(pid):
    """VmRSS, VmHWM (KiB) and Threads from /proc/PID/status."""
    out = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            key, _, value = line.partition(":")
            if key in ("VmRSS", "VmHWM", "Threads"):
                out[key] = int(value.split()[0])
    return out


def fd_count(pid):
    return len(os.listdir(f"/proc/{pid}/fd"))


def file_size(path):
    try:
        return os.path.getsize(path)
    except OSError:
        return 0


def tree_size(path, only=None):
    """Bytes on disk (allocated blocks, as du counts: QuestDB allocates its column and
    WAL files in large pages ahead of use) of the files under path; with `only`, under
    its subdirectories whose name passes `only` (QuestDB's table/walN directories)."""
    total = 0
    for dirpath, dirnames, filenames in os.walk(path):
        rel = os.path.relpath(dirpath, path).split(os.sep)
        if only is not None and not any(only(part) for part in rel):
            continue
        for name in filenames:
            try:
                total += os.lstat(os.path.join(dirpath, name)).st_blocks * 512
            except OSError:
                pass  # removed while walking (QuestDB purges applied WAL segments)
    return total


class SQLiteStoreProbe:
    """The database file and its write-ahead log."""

    def __init__(self, path):
        self.path = path

    def daemon_args(self):
        return ["--store", f"sqlite:{self.path}"]

    def sample(self):
        return {"store_mb": file_size(self.path) / 2**20, "wal_mb": file_size(self.path + "-wal") / 2**20}

    columns = [("store_mb", "store MB", 9, 1), ("wal_mb", "WAL MB", 7, 1)]


class QuestDBStoreProbe:
    """QuestDB's tables as QuestDB reports them (table_storage(): partitions on disk) and
    its write-ahead logs: the transactions committed to a table's WAL but not yet applied
    (wal_tables()), and with the data directory known, the bytes in the tables' wal*
    directories and QuestDB's own RSS."""

    def __init__(self, http, pg, spool, data_dir):
        self.http, self.pg, self.spool, self.data_dir = http.rstrip("/"), pg, spool, data_dir
        self.qdb_pid = None
        if data_dir and os.path.exists(os.path.join(data_dir, "pid")):
            self.qdb_pid = int(open(os.path.join(data_dir, "pid")).read().strip())

    def daemon_args(self):
        return ["--store", "questdb", "--questdb-http", self.http, "--questdb-pg", self.pg,
                "--questdb-spool", self.spool]

    def query(self, sql):
        url = self.http + "/exec?" + urllib.parse.urlencode({"query": sql})
        with urllib.request.urlopen(url, timeout=30) as r:
            answer = json.load(r)
        if "error" in answer:
            raise RuntimeError(f"QuestDB: {answer['error']} ({sql})")
        return answer["dataset"]

    def sample(self):
        out = {"store_mb": float("nan"), "wal_txn": -1, "wal_mb": float("nan"), "spool_mb": tree_size(self.spool) / 2**20}
        try:
            out["store_mb"] = sum(row[1] for row in self.query("SELECT tableName, diskSize FROM table_storage()")) / 2**20
            out["wal_txn"] = sum(row[1] - row[0] for row in self.query("SELECT writerTxn, sequencerTxn FROM wal_tables()"))
        except (OSError, RuntimeError) as e:
            print(f"# QuestDB sample failed: {e}", file=sys.stderr)
        if self.data_dir:
            db = os.path.join(self.data_dir, "db")
            # Each WAL table keeps its uncommitted-to-table writes in walN/ segment
            # directories and its sequencer's transaction log in txn_seq/.
            out["wal_mb"] = tree_size(db, only=lambda d: d.startswith("wal") and d[3:].isdigit()) / 2**20
            out["seq_mb"] = tree_size(db, only=lambda d: d == "txn_seq") / 2**20
        if self.qdb_pid:
            try:
                out["qdb_rss_mb"] = proc_status(self.qdb_pid)["VmRSS"] / 1024
            except OSError:
                pass
        return out

    @property
    def columns(self):
        cols = [("store_mb", "tables MB", 9, 1), ("wal_txn", "WAL txn", 7, 0)]
        if self.data_dir:
            cols += [("wal_mb", "WAL MB", 7, 1), ("seq_mb", "seq MB", 6, 1), ("qdb_rss_mb", "QDB RSS", 7, 0)]
        return cols + [("spool_mb", "spool MB", 8, 2)]


def find_daemon(root_pid):
    """The backtestd process among root_pid and its descendants (under a wrapper such
    as heaptrack, which runs it as a child)."""
    children = collections.defaultdict(list)
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = open(f"/proc/{entry}/stat").read()
            except OSError:
                continue
            children[int(stat.rsplit(")", 1)[1].split()[1])].append(int(entry))
    todo = [root_pid]
    while todo:
        pid = todo.pop()
        try:
            if os.path.basename(os.readlink(f"/proc/{pid}/exe")) == "backtestd":
                return pid
        except OSError:
            pass
        todo += children[pid]
    raise SystemExit(f"no backtestd process under {root_pid}")


class Daemon:
    def __init__(self, bin_dir, work, store_args, extra, wrapper=()):
        self.port_file = os.path.join(work, "port")
        self.log_path = os.path.join(work, "backtestd.log")
        self.log = open(self.log_path, "w")
        if os.path.exists(self.port_file):
            os.remove(self.port_file)  # left by an earlier run in the same --work
        args = list(wrapper) + [os.path.join(bin_dir, "backtestd"), "--host", "127.0.0.1", "--port", "0",
                                "--port-file", self.port_file] + store_args + extra
        print("#", " ".join(args), flush=True)
        self.proc = subprocess.Popen(args, stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 120
        while not (os.path.exists(self.port_file) and open(self.port_file).read().strip()):
            if self.proc.poll() is not None:
                raise SystemExit(f"backtestd exited with {self.proc.returncode}; see {self.log_path}")
            if time.monotonic() > deadline:
                raise SystemExit("backtestd did not listen within 120 s")
            time.sleep(0.05)
        self.port = int(open(self.port_file).read().strip())
        self.pid = find_daemon(self.proc.pid)

    def stop(self):
        """SIGTERM and wait: returns the seconds shutdown took (the SQLite store
        checkpoints its WAL at close)."""
        if self.proc.poll() is not None:
            return 0.0
        t0 = time.monotonic()
        os.kill(self.pid, signal.SIGTERM)  # the daemon itself, not a wrapper around it
        try:
            self.proc.wait(timeout=120)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        return time.monotonic() - t0


# ---------------------------------------------------------------------------------------
# The load


class Tally:
    """Counters and failures shared by every thread."""

    def __init__(self):
        self.lock = threading.Lock()
        self.counts = collections.Counter()
        self.failures = []

    def add(self, key, n=1):
        with self.lock:
            self.counts[key] += n

    def fail(self, what):
        with self.lock:
            self.failures.append(what)
            self.counts["failures"] += 1
            if len(self.failures) <= 20:
                print("# FAIL", what, file=sys.stderr, flush=True)


class Soak:
    def __init__(self, args, port):
        self.args = args
        self.port = port
        self.run_id = f"{int(time.time())}-{os.getpid()}"
        self.tally = Tally()
        # Separate connections for the load, the watchers and the checks, so that the
        # daemon's descriptors are a fixed number of connections plus its own.
        self.load_stub = self.stub()
        self.watch_stub = self.stub()
        self.check_stub = self.stub()
        self.lock = threading.Lock()
        self.next_index = 0
        self.started = {}  # session id -> (index, n1, n2)
        self.live = set()  # started, not yet seen ended by their own client
        self.recent = collections.deque(maxlen=64)  # the newest sessions started
        self.done = 0  # sessions seen ended by their own client
        self.stop_watchers = threading.Event()

    def stub(self):
        channel = grpc.insecure_channel(f"127.0.0.1:{self.port}")
        return pb_grpc.BacktestServiceStub(channel)

    def request(self, index):
        """sma_cross over the whole of GOOG with its windows varied per session."""
        rng = random.Random(index)
        n1 = rng.randint(3, 30)
        n2 = n1 + rng.randint(5, 60)
        r = pb.StartBacktestRequest(symbol="GOOG", timeframe="1d", initial_capital=10_000,
                                    acceleration_factor=0, client_request_id=f"soak-{self.run_id}-{index}")
        r.start_time.FromJsonString(FROM + "T00:00:00Z")
        r.end_time.FromJsonString(TO + "T00:00:00Z")
        r.strategy.builtin.name = "sma_cross"
        r.strategy.builtin.params["n1"] = n1
        r.strategy.builtin.params["n2"] = n2
        r.labels["soak"] = self.run_id
        return r, n1, n2

    def claim(self):
        with self.lock:
            if self.next_index >= self.args.sessions:
                return None
            self.next_index += 1
            return self.next_index - 1

    def started_one(self, session_id, index, n1, n2):
        with self.lock:
            if session_id in self.started:
                self.tally.fail(f"session {session_id} returned for two starts")
            self.started[session_id] = (index, n1, n2)
            self.live.add(session_id)
            self.recent.append(session_id)

    def ended_one(self, session_id):
        with self.lock:
            self.live.discard(session_id)
            self.done += 1

    def start(self, index):
        """StartBacktest, retried while the queue is full (RESOURCE_EXHAUSTED) or the
        call failed in transit; client_request_id makes a retry return the same session."""
        request, n1, n2 = self.request(index)
        for attempt in range(200):
            try:
                self.tally.add("calls")
                response = self.load_stub.StartBacktest(request, timeout=self.args.deadline)
                self.started_one(response.session_id, index, n1, n2)
                return response.session_id
            except grpc.RpcError as e:
                if e.code() not in (grpc.StatusCode.RESOURCE_EXHAUSTED, grpc.StatusCode.UNAVAILABLE,
                                    grpc.StatusCode.DEADLINE_EXCEEDED):
                    self.tally.fail(f"start #{index}: {e.code().name} {e.details()}")
                    return None
                self.tally.add("start_retries")
                time.sleep(min(1.0, 0.01 * (attempt + 1)))
        self.tally.fail(f"start #{index}: still refused after 200 attempts")
        return None

    # --- a watch and its checks

    def check_events(self, who, session_id, events):
        """events: (kind, status, sequence, trades) in stream order. Exactly one TERMINAL,
        last, after a SNAPSHOT first; its status is an ended one and GetSession agrees."""
        kinds = [e[0] for e in events]
        terminals = kinds.count(K.PROGRESS_EVENT_KIND_TERMINAL)
        if terminals == 0:
            self.tally.add("watch_missing_terminal")
            self.tally.fail(f"{who} {session_id}: no TERMINAL event ({len(events)} events: {kinds})")
            return
        if terminals > 1:
            self.tally.add("watch_duplicate_terminal")
            self.tally.fail(f"{who} {session_id}: {terminals} TERMINAL events")
            return
        if kinds[0] != K.PROGRESS_EVENT_KIND_SNAPSHOT or kinds[-1] != K.PROGRESS_EVENT_KIND_TERMINAL:
            self.tally.fail(f"{who} {session_id}: events out of order: {kinds}")
            return
        sequences = [e[2] for e in events[1:]]
        if any(b <= a for a, b in zip(sequences, sequences[1:])):
            self.tally.fail(f"{who} {session_id}: sequence numbers not increasing: {sequences}")
        status, trades = events[-1][1], events[-1][3]
        if status not in ENDED:
            self.tally.fail(f"{who} {session_id}: TERMINAL with status {S.Name(status)}")
        try:
            self.tally.add("calls")
            session = self.check_stub.GetSession(pb.GetSessionRequest(session_id=session_id), timeout=self.args.deadline).session
        except grpc.RpcError as e:
            self.tally.fail(f"{who} {session_id}: GetSession after the watch: {e.code().name} {e.details()}")
            return
        if session.status != status or session.total_trades != trades:
            self.tally.fail(f"{who} {session_id}: TERMINAL says {S.Name(status)}, {trades} trades; "
                            f"GetSession {S.Name(session.status)}, {session.total_trades} trades")
            return
        self.tally.add("watch_terminal_ok")

    def watch(self, stub, who, session_id):
        events = []
        self.tally.add("calls")
        try:
            for e in stub.WatchProgress(pb.WatchProgressRequest(session_id=session_id), timeout=self.args.deadline):
                events.append((e.kind, e.status, e.sequence, e.trades))
        except grpc.RpcError as e:
            self.tally.fail(f"{who} {session_id}: WatchProgress ended {e.code().name} {e.details()} "
                            f"after {len(events)} events")
            return
        self.tally.add(f"watches_{who}")
        self.check_events(who, session_id, events)

    def cli_start_watch(self, index):
        """`backtest start --watch --json`: the StartBacktestResponse line, then one
        ProgressEvent per line; exit 0 for a COMPLETED session."""
        _, n1, n2 = self.request(index)
        cmd = [os.path.join(self.args.bin_dir, "backtest"), "start", "--server", f"127.0.0.1:{self.port}",
               "--symbol", "GOOG", "--timeframe", "1d", "--from", FROM, "--to", TO, "--strategy", "sma_cross",
               "--param", f"n1={n1}", "--param", f"n2={n2}", "--acceleration", "0",
               "--request-id", f"soak-{self.run_id}-{index}", "--label", f"soak={self.run_id}", "--watch", "--json"]
        for attempt in range(100):
            p = subprocess.run(cmd, capture_output=True, text=True)
            if p.returncode != 10 + grpc.StatusCode.RESOURCE_EXHAUSTED.value[0]:
                break
            self.tally.add("start_retries")  # the queue was full: nothing was started
            time.sleep(min(1.0, 0.01 * (attempt + 1)))
        lines = [json.loads(line) for line in p.stdout.splitlines() if line.strip()]
        if not lines or "sessionId" not in lines[0]:
            self.tally.fail(f"cli #{index}: exit {p.returncode}, no StartBacktestResponse: {p.stderr.strip()[:300]}")
            return
        session_id = lines[0]["sessionId"]
        self.started_one(session_id, index, n1, n2)
        events = [(KIND_NAME[e["kind"]], STATUS_NAME[e["status"]], int(e["sequence"]), int(e["trades"]))
                  for e in lines[1:]]
        self.tally.add("watches_cli")
        if p.returncode != 0:
            self.tally.fail(f"cli {session_id}: exit {p.returncode}: {p.stderr.strip()[:300]}")
        self.check_events("cli", session_id, events)
        self.ended_one(session_id)

    def poll_until_ended(self, session_id):
        """For the sessions nobody watches from the start: GetSession until ended."""
        delay = 0.005
        while True:
            self.tally.add("calls")
            try:
                s = self.load_stub.GetSession(pb.GetSessionRequest(session_id=session_id), timeout=self.args.deadline).session
                if s.status in ENDED:
                    return
            except grpc.RpcError as e:
                self.tally.fail(f"poll {session_id}: GetSession {e.code().name} {e.details()}")
                return
            time.sleep(delay)
            delay = min(0.1, delay * 2)

    def client(self, seed):
        rng = random.Random(seed)
        while (index := self.claim()) is not None:
            roll = rng.random()
            if roll < self.args.cli_share:
                self.cli_start_watch(index)
                continue
            session_id = self.start(index)
            if session_id is None:
                continue
            if roll < self.args.cli_share + self.args.watch_share:
                self.watch(self.load_stub, "start_watch", session_id)
            else:
                self.poll_until_ended(session_id)
                self.tally.add("polled")
            self.ended_one(session_id)

    def watcher(self, seed):
        """Attach at a random time to a random session that is running or has just
        ended (among the newest started), watch it to the end, check; again."""
        rng = random.Random(seed)
        while not self.stop_watchers.wait(rng.uniform(0, 2 * self.args.watcher_gap)):
            with self.lock:
                pool = list(self.live) if self.live and rng.random() < 0.5 else list(self.recent)
            if pool:
                self.watch(self.watch_stub, "random_watch", rng.choice(pool))

    # --- the end: every session accounted for

    def account(self):
        """Every started session COMPLETED and readable (GetSession, with the request it
        was started with), and ListSessions under this run's label lists exactly them."""
        with self.lock:
            started = dict(self.started)
        if len(started) != self.args.sessions:
            self.tally.fail(f"{len(started)} sessions started of {self.args.sessions}")
        statuses = collections.Counter()
        for session_id, (index, n1, n2) in started.items():
            try:
                s = self.check_stub.GetSession(pb.GetSessionRequest(session_id=session_id), timeout=self.args.deadline).session
            except grpc.RpcError as e:
                self.tally.fail(f"account {session_id}: GetSession {e.code().name} {e.details()}")
                statuses["unreadable"] += 1
                continue
            statuses[S.Name(s.status)] += 1
            params = s.request.strategy.builtin.params
            if s.status != S.SESSION_STATUS_COMPLETED or not s.HasField("statistics"):
                self.tally.fail(f"account {session_id}: {S.Name(s.status)} {s.error_message}")
            elif (params["n1"], params["n2"]) != (n1, n2) or s.request.labels["soak"] != self.run_id:
                self.tally.fail(f"account {session_id}: stored request differs from #{index}'s")
        listed, token = set(), ""
        while True:
            page = self.check_stub.ListSessions(
                pb.ListSessionsRequest(labels={"soak": self.run_id}, page_size=1000, page_token=token), timeout=self.args.deadline)
            listed.update(s.session_id for s in page.sessions)
            token = page.next_page_token
            if not token:
                break
        if listed != set(started):
            self.tally.fail(f"ListSessions lists {len(listed)} sessions of this run, {len(listed - set(started))} "
                            f"unknown, {len(set(started) - listed)} missing")
        return statuses, len(listed)


# ---------------------------------------------------------------------------------------
# Sampling, the table and the verdict


def heap_probe(pid):
    """What the daemon's allocator and SQLite hold, asked inside the process with gdb
    (attach, call, detach: the daemon pauses for about a second). RSS alone cannot tell
    a leak from caches filling: glibc's mallinfo2() gives the bytes in use (uordblks,
    plus hblkhd for mmapped blocks) and free in its arenas (fordblks); SQLite's
    sqlite3_memory_used() the part of them that is SQLite's (page caches, statements)."""
    p = subprocess.run(["gdb", "-p", str(pid), "-batch", "-nx",
                        "-ex", "print (long long)sqlite3_memory_used()",
                        "-ex", "print mallinfo2()"], capture_output=True, text=True, timeout=60)
    values = {}
    for line in p.stdout.splitlines():
        if line.startswith("$1 = "):
            values["sqlite_mb"] = int(line[5:]) / 2**20
        elif line.startswith("$2 = {"):
            fields = dict(f.strip().split(" = ") for f in line[6:].rstrip("}").split(","))
            values["heap_mb"] = (int(fields["uordblks"]) + int(fields["hblkhd"])) / 2**20
            values["free_mb"] = int(fields["fordblks"]) / 2**20
    if "heap_mb" not in values or "sqlite_mb" not in values:
        raise RuntimeError("gdb gave no figures: " + (p.stderr.strip().splitlines() or ["?"])[-1])
    values["other_mb"] = values["heap_mb"] - values["sqlite_mb"]  # a leak outside SQLite shows here
    return values


class Sampler(threading.Thread):
    def __init__(self, soak, daemon, probe, every, heap_every=None):
        super().__init__(daemon=True)
        self.soak, self.daemon, self.probe, self.every = soak, daemon, probe, every
        self.heap_every, self.last_heap = heap_every, -1e9
        self.samples = []
        self.running = threading.Event()
        self.t0 = time.monotonic()

    def take(self):
        pid = self.daemon.pid
        st = proc_status(pid)
        try:
            active = len(self.soak.check_stub.ListActive(pb.ListActiveRequest(), timeout=self.soak.args.deadline).sessions)
        except grpc.RpcError:
            active = -1
        with self.soak.lock:
            done = self.soak.done
        sample = {"t": time.monotonic() - self.t0, "done": done, "calls": self.soak.tally.counts["calls"], "rss_mb": st["VmRSS"] / 1024,
                  "hwm_mb": st["VmHWM"] / 1024, "fds": fd_count(pid), "threads": st["Threads"], "active": active}
        sample.update(self.probe.sample())
        if self.heap_every is not None and sample["t"] - self.last_heap >= self.heap_every:
            self.last_heap = sample["t"]
            try:
                sample.update(heap_probe(pid))
            except (OSError, RuntimeError, subprocess.TimeoutExpired) as e:
                print(f"# heap probe failed: {e}", file=sys.stderr)
        self.samples.append(sample)
        return sample

    def run(self):
        while not self.running.wait(self.every):
            self.take()


def cell(value, width, decimals):
    if value is None or (isinstance(value, float) and value != value):
        return "-".rjust(width)
    return f"{value:{width}.{decimals}f}"


def table(samples, row_every, probe_columns):
    """One row per row_every sessions (the first sample at or past each multiple), with
    sessions/s since the previous row; the first and the last sample always."""
    columns = [("done", "sessions", 8, 0), ("t", "elapsed s", 9, 0), ("rate", "sess/s", 6, 1),
               ("rss_mb", "RSS MB", 7, 1), ("fds", "fds", 4, 0), ("threads", "thr", 4, 0),
               ("active", "live", 4, 0)] + probe_columns
    if any("heap_mb" in s for s in samples):
        columns += [("heap_mb", "heap MB", 7, 1), ("free_mb", "free MB", 7, 1), ("sqlite_mb", "SQLite MB", 9, 1),
                    ("other_mb", "other MB", 8, 1)]
        # Rows are the samples with a heap probe, so that each row has every column.
        samples = [s for s in samples if "heap_mb" in s] or samples
    rows, mark = [samples[0]], row_every
    for s in samples[1:]:
        if s["done"] >= mark or s is samples[-1]:
            rows.append(s)
            while mark <= s["done"]:
                mark += row_every
    lines = ["  ".join(title.rjust(width) for _, title, width, _ in columns)]
    prev = None
    for s in rows:
        s = dict(s, rate=(s["done"] - prev["done"]) / (s["t"] - prev["t"]) if prev and s["t"] > prev["t"] else None)
        prev = s
        lines.append("  ".join(cell(s.get(key), width, decimals) for key, _, width, decimals in columns))
    return "\n".join(lines)


# (metric, label, relative tolerance, absolute slack): growth within both is noise.
FLAT_CHECKS = [("rss_mb", "RSS MB", 0.10, 16.0), ("heap_mb", "heap in use MB", 0.10, 8.0),
               ("other_mb", "heap not SQLite", 0.10, 4.0),
               ("fds", "descriptors", 0.0, 4), ("threads", "threads", 0.0, 4), ("wal_mb", "WAL MB", 0.10, 4.0),
               ("wal_txn", "WAL txn pending", 0.0, 50), ("seq_mb", "txn_seq MB", 0.10, 1.0),
               ("spool_mb", "spool MB", 0.0, 1.0)]


def slope(points):
    """Least-squares slope of (x, y) points."""
    n = len(points)
    if n < 2:
        return float("nan")
    mx, my = sum(x for x, _ in points) / n, sum(y for _, y in points) / n
    var = sum((x - mx) ** 2 for x, _ in points)
    return sum((x - mx) * (y - my) for x, y in points) / var if var else float("nan")


def verdicts(samples, total):
    """Does a metric grow with the number of sessions? The largest value over the last
    quarter of the sessions against the largest over the second quarter: the first
    quarter is warm-up (caches fill, the SQLite WAL reaches its size limit), and a
    bounded metric has reached its bound by the second. The slope over the second half
    (per 1,000 sessions) is printed beside it."""
    def quarter(q):
        return [s for s in samples if total * (q - 1) / 4 <= s["done"] <= total * q / 4]
    second, last = quarter(2), quarter(4)
    half = [s for s in samples if s["done"] >= total / 2]
    out, growing = [], []
    if not second or not last:
        return ["not enough samples for a verdict"], growing

    def values(rows, key):
        return [s[key] for s in rows if s.get(key) is not None and s[key] == s[key] and s[key] >= 0]
    for key, label, rel, slack in FLAT_CHECKS:
        a, b = values(second, key), values(last, key)
        if not a or not b:
            continue
        hi_a, hi_b = max(a), max(b)
        flat = hi_b <= hi_a * (1 + rel) + slack
        per_1000 = slope([(s["done"], s[key]) for s in half if s.get(key) is not None and s[key] == s[key]]) * 1000
        out.append(f"{label:<16} 2nd quarter max {hi_a:9.1f}   4th quarter max {hi_b:9.1f}   "
                   f"2nd half {per_1000:+8.2f} per 1,000 sessions   {'flat' if flat else 'GROWING'}")
        if not flat:
            growing.append(label)
    return out, growing


# ---------------------------------------------------------------------------------------


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("bin_dir", help="where backtestd and backtest are (a release build: .build/release)")
    ap.add_argument("--store", choices=["sqlite", "questdb"], default="sqlite")
    ap.add_argument("--sessions", type=int, default=10_000, help="sessions to run (default 10,000)")
    ap.add_argument("--clients", type=int, default=8, help="client threads starting sessions (default 8)")
    ap.add_argument("--watchers", type=int, default=50, help="threads watching random sessions (default 50)")
    ap.add_argument("--watcher-gap", type=float, default=1.0,
                    help="mean seconds a watcher waits between watches (default 1)")
    ap.add_argument("--watch-share", type=float, default=0.8,
                    help="share of sessions watched from right after StartBacktest (default 0.8)")
    ap.add_argument("--cli-share", type=float, default=0.1,
                    help="share of sessions run as `backtest start --watch --json` (default 0.1)")
    ap.add_argument("--deadline", type=float, default=60,
                    help="the deadline (grpc-timeout) of every call, in seconds (default 60): the server holds "
                         "a timer per call until its deadline, even once the call has ended")
    ap.add_argument("--sample-seconds", type=float, default=2.0, help="seconds between samples (default 2)")
    ap.add_argument("--row-every", type=int, help="a table row per this many sessions (default sessions/20)")
    ap.add_argument("--minutes", type=float, help="stop starting sessions after this long (a shorter soak)")
    ap.add_argument("--work", help="work directory (default: a new temporary one)")
    ap.add_argument("--keep", action="store_true", help="keep the work directory (store, daemon log, samples)")
    ap.add_argument("--csv", help="write every sample to this CSV file")
    ap.add_argument("--questdb-http", default=os.environ.get("QUESTDB_HTTP"), help="default $QUESTDB_HTTP")
    ap.add_argument("--questdb-pg", default=os.environ.get("QUESTDB_PG"), help="default $QUESTDB_PG")
    ap.add_argument("--questdb-dir", help="QuestDB's root directory (db/ and pid inside): WAL bytes and its RSS")
    ap.add_argument("--heap", type=float, metavar="SECONDS",
                    help="every SECONDS, the daemon's heap in use and free (mallinfo2) and SQLite's memory "
                         "(sqlite3_memory_used), read with gdb; the daemon pauses about a second each time")
    ap.add_argument("--daemon-wrapper", default="",
                    help="a command to run backtestd under, e.g. 'heaptrack -o FILE' (split on spaces)")
    ap.add_argument("--daemon-arg", action="append", default=[], help="one more backtestd argument (repeatable)")
    args = ap.parse_args()
    if args.cli_share + args.watch_share > 1:
        ap.error("--cli-share plus --watch-share must be at most 1")

    work = args.work or tempfile.mkdtemp(prefix="soak-")
    os.makedirs(work, exist_ok=True)
    if args.store == "sqlite":
        probe = SQLiteStoreProbe(os.path.join(work, "soak.sqlite"))
        for suffix in ("", "-wal", "-shm"):  # a fresh store
            if os.path.exists(probe.path + suffix):
                os.remove(probe.path + suffix)
    else:
        if not (args.questdb_http and args.questdb_pg):
            ap.error("--store questdb needs --questdb-http and --questdb-pg (or QUESTDB_HTTP and QUESTDB_PG)")
        spool = os.path.join(work, "spool")
        shutil.rmtree(spool, ignore_errors=True)
        probe = QuestDBStoreProbe(args.questdb_http, args.questdb_pg, spool, args.questdb_dir)

    daemon = Daemon(args.bin_dir, work, probe.daemon_args(), ["--log-level", "info"] + args.daemon_arg,
                    args.daemon_wrapper.split())
    ok = False
    try:
        env = dict(os.environ, BACKTEST_SERVER=f"127.0.0.1:{daemon.port}")
        subprocess.run([os.path.join(args.bin_dir, "backtest"), "import", SAMPLE, "--symbol", "GOOG",
                        "--timeframe", "1d", "--replace"], env=env, check=True, stdout=subprocess.DEVNULL)
        soak = Soak(args, daemon.port)
        print(f"# soak {soak.run_id}: {args.sessions} sessions on {args.store}, {args.clients} clients "
              f"({args.watch_share:.0%} start then watch, {args.cli_share:.0%} `backtest start --watch`, the rest "
              f"polled), {args.watchers} random watchers; work {work}", flush=True)
        sampler = Sampler(soak, daemon, probe, args.sample_seconds, args.heap)
        sampler.take()
        sampler.start()
        watchers = [threading.Thread(target=soak.watcher, args=(1000 + i,), daemon=True) for i in range(args.watchers)]
        clients = [threading.Thread(target=soak.client, args=(i,), daemon=True) for i in range(args.clients)]
        for t in watchers + clients:
            t.start()
        deadline = time.monotonic() + args.minutes * 60 if args.minutes else None
        last_print = 0
        while any(t.is_alive() for t in clients):
            time.sleep(0.5)
            if deadline and time.monotonic() > deadline:
                with soak.lock:  # no more starts: those under way finish
                    args.sessions = soak.next_index
                deadline = None
                print(f"# --minutes reached: stopping at {args.sessions} sessions", flush=True)
            if time.monotonic() - last_print > 30 and sampler.samples:
                s = sampler.samples[-1]
                print(f"# {s['done']} sessions, {s['t']:.0f} s, RSS {s['rss_mb']:.0f} MB, fds {s['fds']}, "
                      f"failures {soak.tally.counts['failures']}", flush=True)
                last_print = time.monotonic()
        soak.stop_watchers.set()
        for t in watchers:
            t.join()
        sampler.running.set()
        sampler.join()
        sampler.last_heap = -1e9  # the end of the load has every column
        end = sampler.take()
        elapsed = end["t"]
        statuses, listed = soak.account()
        time.sleep(5)  # idle: what the daemon keeps once the load is gone
        sampler.last_heap = -1e9
        idle = sampler.take()
        shutdown = daemon.stop()
        after = probe.sample()
        total = args.sessions

        print()
        print(table(sampler.samples[:-1], args.row_every or max(1, total // 20), probe.columns))
        print(f"\nidle after the run: RSS {idle['rss_mb']:.1f} MB (peak {idle['hwm_mb']:.1f}), fds {idle['fds']}, "
              f"threads {idle['threads']}, live sessions {idle['active']}" +
              (f", heap in use {idle['heap_mb']:.1f} MB (SQLite {idle['sqlite_mb']:.1f}, other {idle['other_mb']:.1f}), "
               f"free {idle['free_mb']:.1f} MB"
               if "heap_mb" in idle else ""))
        print(f"after shutdown ({shutdown:.1f} s): " + ", ".join(f"{k} {v:.1f}" for k, v in after.items()))
        c = soak.tally.counts
        calls = end["calls"]
        print(f"\n{total} sessions in {elapsed:.0f} s ({total / elapsed:.1f}/s), {calls} calls from the soak's "
              f"threads ({calls / elapsed:.0f}/s, deadline {args.deadline:g} s) besides the CLI's; statuses {dict(statuses)}; "
              f"ListSessions under the run's label: {listed}")
        watches = c["watches_start_watch"] + c["watches_cli"] + c["watches_random_watch"]
        print(f"watches: {watches} ({c['watches_start_watch']} start then watch, {c['watches_cli']} "
              f"`backtest start --watch`, {c['watches_random_watch']} random), {c['watch_terminal_ok']} with exactly "
              f"one TERMINAL matching GetSession; missing {c['watch_missing_terminal']}, duplicated "
              f"{c['watch_duplicate_terminal']}; polled sessions {c['polled']}; start retries (queue full) "
              f"{c['start_retries']}")
        lines, growing = verdicts(sampler.samples[:-1], total)
        print("\n" + "\n".join(lines))
        with open(daemon.log_path) as f:
            noisy = [line for line in f if " warning " in line or " error " in line or " critical " in line]
        print(f"daemon log: {len(noisy)} warning/error lines ({daemon.log_path})")
        for line in noisy[:5]:
            print("  " + line.rstrip())
        if args.csv:
            keys = sorted({k for s in sampler.samples for k in s})
            with open(args.csv, "w", newline="") as f:
                w = csv.DictWriter(f, fieldnames=keys)
                w.writeheader()
                w.writerows(sampler.samples)
        accounted = (statuses.get("SESSION_STATUS_COMPLETED", 0) == total and listed == total)
        ok = c["failures"] == 0 and accounted
        print(f"\nverdict: {'every session accounted for' if accounted else 'SESSIONS UNACCOUNTED FOR'}; "
              f"{'no' if c['failures'] == 0 else c['failures']} failures; "
              f"{'flat' if not growing else 'growing: ' + ', '.join(growing)}")
    finally:
        daemon.stop()
        daemon.log.close()
        if not args.keep and not args.work:
            shutil.rmtree(work, ignore_errors=True)
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
