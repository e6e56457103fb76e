#!/usr/bin/env python3
"""A real gRPC client (grpcio, stubs from proto/ by grpcio-tools) for the service's
end-to-end tests. Prints one JSON object on its last line.

usage: backtest_client.py PORT call METHOD REQUEST_JSON     any RPC; streams collected
       backtest_client.py PORT start_watch REQUEST_JSON [MIN_INTERVAL]  start, then watch
       backtest_client.py PORT import FILE HEADER_JSON [CHUNK]  CSV import (client streaming)
       backtest_client.py PORT watch_idle ID|REQUEST_JSON SECONDS   open a watch, read nothing
       backtest_client.py PORT watchers ID|REQUEST_JSON N           N watchers at once
Environment: BACKTEST_TOKEN (sent as a bearer token), BACKTEST_TIMEOUT (seconds).
"""
import hashlib
import json
import os
import sys
import tempfile
import threading
import time

import grpc
from google.protobuf import json_format

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
PROTO = os.path.join(ROOT, "proto")


def stubs():
    """grpcio-tools stubs for backtest.proto, made once per proto version."""
    src = open(os.path.join(PROTO, "backtest/v1/backtest.proto"), "rb").read()
    out = os.path.join(tempfile.gettempdir(), "backtest-pystubs-" + hashlib.sha256(src).hexdigest()[:16])
    if not os.path.exists(os.path.join(out, "backtest/v1/backtest_pb2_grpc.py")):
        from grpc_tools import protoc
        tmp = tempfile.mkdtemp(prefix="stubs-")
        args = ["protoc", "-I", PROTO, "-I", os.path.join(os.path.dirname(protoc.__file__), "_proto"),
                f"--python_out={tmp}", f"--grpc_python_out={tmp}", "backtest/v1/backtest.proto"]
        if protoc.main(args) != 0:
            raise SystemExit("protoc failed")
        try:
            os.rename(tmp, out)
        except OSError:
            pass  # another process made it first
    sys.path.insert(0, out)
    from backtest.v1 import backtest_pb2, backtest_pb2_grpc
    return backtest_pb2, backtest_pb2_grpc


pb2, pb2_grpc = stubs()
port = sys.argv[1]
channel = grpc.insecure_channel(f"127.0.0.1:{port}", options=[("grpc.max_receive_message_length", 64 << 20)])
stub = pb2_grpc.BacktestServiceStub(channel)
token = os.environ.get("BACKTEST_TOKEN")
metadata = [("authorization", f"Bearer {token}")] if token else None
timeout = float(os.environ.get("BACKTEST_TIMEOUT", "60"))

STREAMS = {"WatchProgress", "GetTrades", "GetEquityCurve", "WatchSweep", "GetMarketData"}
REQUEST_TYPES = {
    "StartBacktest": "StartBacktestRequest", "StopBacktest": "StopBacktestRequest",
    "ListActive": "ListActiveRequest", "WatchProgress": "WatchProgressRequest",
    "GetSession": "GetSessionRequest", "ListSessions": "ListSessionsRequest",
    "GetTrades": "GetTradesRequest", "GetEquityCurve": "GetEquityCurveRequest",
    "ListMarketData": "ListMarketDataRequest", "GetMarketData": "GetMarketDataRequest",
    "DeleteSession": "DeleteSessionRequest",
    "StartSweep": "StartSweepRequest", "WatchSweep": "WatchSweepRequest", "StopSweep": "StopSweepRequest",
    "GetSweep": "GetSweepRequest", "ListSweeps": "ListSweepsRequest",
    "DeleteSweep": "DeleteSweepRequest",
}


def as_dict(m):
    return json_format.MessageToDict(m, preserving_proto_field_name=True, always_print_fields_with_no_presence=True)


def emit(**kw):
    print(json.dumps(kw))


def error(e):
    emit(code=e.code().name, details=e.details())


def start_if_request(arg):
    """A session id, or a StartBacktest request (JSON) to start first: watchers then
    attach at once, however long this interpreter took to start."""
    if not arg.startswith("{"):
        return arg
    request = json_format.Parse(arg, pb2.StartBacktestRequest())
    return stub.StartBacktest(request, metadata=metadata, timeout=timeout).session_id


try:
    mode = sys.argv[2]
    if mode == "call":
        method, body = sys.argv[3], sys.argv[4]
        request = json_format.Parse(body, getattr(pb2, REQUEST_TYPES[method])())
        fn = getattr(stub, method)
        t0 = time.monotonic()
        if method in STREAMS:
            responses, times = [], []
            for r in fn(request, metadata=metadata, timeout=timeout):
                responses.append(as_dict(r))
                times.append(round(time.monotonic() - t0, 4))
            emit(code="OK", responses=responses, times=times, elapsed=time.monotonic() - t0)
        else:
            r = fn(request, metadata=metadata, timeout=timeout)
            emit(code="OK", response=as_dict(r), elapsed=time.monotonic() - t0)
    elif mode == "health":
        # grpc.health.v1 Check through grpcio-health-checking's own stubs.
        from grpc_health.v1 import health_pb2, health_pb2_grpc
        service = sys.argv[3] if len(sys.argv) > 3 else ""
        r = health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(service=service), timeout=timeout)
        emit(code="OK", status=health_pb2.HealthCheckResponse.ServingStatus.Name(r.status))
    elif mode == "start_watch":
        # Start, then watch at once: a short paced run is seen from its beginning.
        request = json_format.Parse(sys.argv[3], pb2.StartBacktestRequest())
        interval = sys.argv[4] if len(sys.argv) > 4 else "0.25s"
        started = stub.StartBacktest(request, metadata=metadata, timeout=timeout)
        watch = pb2.WatchProgressRequest(session_id=started.session_id)
        watch.min_interval.FromJsonString(interval)
        t0 = time.monotonic()
        responses, times = [], []
        for e in stub.WatchProgress(watch, metadata=metadata, timeout=timeout):
            responses.append(as_dict(e))
            times.append(round(time.monotonic() - t0, 4))
        emit(code="OK", session_id=started.session_id, responses=responses, times=times)
    elif mode == "import":
        path, header = sys.argv[3], json_format.Parse(sys.argv[4], pb2.ImportHeader())
        chunk = int(sys.argv[5]) if len(sys.argv) > 5 else 65536
        def requests():
            yield pb2.ImportMarketDataRequest(header=header)
            with open(path, "rb") as f:
                while True:
                    b = f.read(chunk)
                    if not b:
                        return
                    yield pb2.ImportMarketDataRequest(csv_chunk=b)
        r = stub.ImportMarketData(requests(), metadata=metadata, timeout=timeout)
        emit(code="OK", response=as_dict(r))
    elif mode == "watch_idle":
        sid, seconds = start_if_request(sys.argv[3]), float(sys.argv[4])
        call = stub.WatchProgress(pb2.WatchProgressRequest(session_id=sid), metadata=metadata)
        first = next(call)
        time.sleep(seconds)
        kinds = [pb2.ProgressEventKind.Name(first.kind)]
        for e in call:
            kinds.append(pb2.ProgressEventKind.Name(e.kind))
        emit(code="OK", kinds=kinds, session_id=sid)
    elif mode == "watchers":
        sid, n = start_if_request(sys.argv[3]), int(sys.argv[4])
        results = [None] * n
        def watch(i):
            try:
                events = list(stub.WatchProgress(pb2.WatchProgressRequest(session_id=sid), metadata=metadata, timeout=timeout))
                results[i] = {"code": "OK", "kinds": [pb2.ProgressEventKind.Name(e.kind) for e in events],
                              "last_status": pb2.SessionStatus.Name(events[-1].status),
                              "sequences": [e.sequence for e in events]}
            except grpc.RpcError as e:
                results[i] = {"code": e.code().name, "details": e.details()}
        threads = [threading.Thread(target=watch, args=(i,)) for i in range(n)]
        for t in threads: t.start()
        for t in threads: t.join()
        emit(code="OK", watchers=results, session_id=sid)
    elif mode == "fuzz":
        # Random, often absurd, requests to every unary RPC: each must get a status
        # (never UNKNOWN, INTERNAL or a dead connection).
        import random
        count, rng = int(sys.argv[3]), random.Random(int(sys.argv[4]))
        floats = [0.0, -0.0, 1.0, -1.0, 1e-300, 1e300, float("inf"), float("-inf"), float("nan"), 10000.0, 0.5, 2.0]
        texts = ["", "GOOG", "1d", "tick", "1m", "0m", "-1h", "99999999999d", "x" * 300, "a\u00e9\u4e2d", "'; DROP TABLE x;--",
                 "\"quoted\"", "back\\slash", "new\nline", "sma_cross", "default", "close > sma(close, 10",
                 "crosses_above(sma(close, $a), sma(close, $b))", "close / (volume - volume) > 1", "$$$", "sma(" * 50]
        seconds = [0, 1, -62135596800, 253402300799, 1092873600, 1362182400, 2 ** 40, -(2 ** 40)]
        def ts():
            t = pb2.google_dot_protobuf_dot_timestamp__pb2.Timestamp() if hasattr(pb2, "google_dot_protobuf_dot_timestamp__pb2") else None
            from google.protobuf.timestamp_pb2 import Timestamp
            t = Timestamp(seconds=rng.choice(seconds), nanos=rng.choice([0, 999999999, 500]))
            return t
        def start_request():
            if rng.random() < 0.5:
                return near_valid_request()
            r = pb2.StartBacktestRequest(symbol=rng.choice(texts), timeframe=rng.choice(texts),
                                         initial_capital=rng.choice(floats), acceleration_factor=rng.choice(floats),
                                         client_request_id=rng.choice(texts), leave_open_at_end=rng.random() < 0.5,
                                         fill_mode=rng.choice([0, 1, 2]))
            if rng.random() < 0.9: r.start_time.CopyFrom(ts())
            if rng.random() < 0.9: r.end_time.CopyFrom(ts())
            if rng.random() < 0.5:
                r.strategy.builtin.name = rng.choice(texts)
                for _ in range(rng.randrange(3)): r.strategy.builtin.params[rng.choice(texts)] = rng.choice(floats)
            elif rng.random() < 0.8:
                for _ in range(rng.randrange(4)):
                    r.strategy.rules.rules.add(name=rng.choice(texts), kind=rng.choice([0, 1, 2, 3, 4]), expression=rng.choice(texts))
                r.strategy.rules.stop_loss_pct = rng.choice(floats)
                r.strategy.rules.trailing_stop_pct = rng.choice(floats)
                for _ in range(rng.randrange(3)): r.strategy.rules.params[rng.choice(texts)] = rng.choice(floats)
            if rng.random() < 0.5:
                r.costs.commission_rate, r.costs.commission_fixed, r.costs.slippage_bps = rng.choice(floats), rng.choice(floats), rng.choice(floats)
            if rng.random() < 0.5:
                r.sizing.mode, r.sizing.value = rng.choice([0, 1, 2, 3, 4]), rng.choice(floats)
            if rng.random() < 0.3:
                r.equity_sample_interval.seconds = rng.choice([-5, 0, 1, 10 ** 9])
            for _ in range(rng.randrange(3)): r.labels[rng.choice(texts)] = rng.choice(texts)
            return r
        def near_valid_request():
            """A valid GOOG request with one or two fields made odd, so that the
            deeper paths (strategy compilation, runs, the store) are reached."""
            r = pb2.StartBacktestRequest(symbol="GOOG", timeframe="1d", initial_capital=10000.0,
                                         acceleration_factor=0.0)
            r.start_time.seconds, r.end_time.seconds = 1092873600, 1362182400
            r.strategy.builtin.name = "sma_cross"
            for _ in range(rng.randrange(1, 3)):
                field = rng.randrange(9)
                if field == 0: r.initial_capital = rng.choice(floats)
                elif field == 1: r.strategy.builtin.params[rng.choice(["n1", "n2", "x"])] = rng.choice(floats + [3.0, 7.5, 400.0])
                elif field == 2: r.strategy.builtin.name = rng.choice(["default", "sma_cross"])
                elif field == 3:
                    r.strategy.rules.rules.add(name="R", kind=rng.choice([1, 2, 3, 4]), expression=rng.choice(texts))
                elif field == 4: r.costs.commission_rate = rng.choice(floats + [0.002])
                elif field == 5: r.sizing.mode, r.sizing.value = rng.choice([2, 3, 4]), rng.choice(floats)
                elif field == 6: r.timeframe = rng.choice(["1d", "2d", "12h", "tick", "1m"])
                elif field == 7: r.start_time.seconds = rng.choice(seconds)
                else: r.acceleration_factor = rng.choice(floats)
            return r
        codes = {}
        details = set()
        started = []
        for i in range(count):
            which = rng.randrange(6)
            try:
                if which <= 2:
                    resp = stub.StartBacktest(start_request(), metadata=metadata, timeout=timeout)
                    started.append(resp.session_id)
                elif which == 3:
                    stub.ListSessions(pb2.ListSessionsRequest(symbol=rng.choice(texts), page_size=rng.choice([0, 1, 1000, 1001, 2 ** 32 - 1]),
                                                              page_token=rng.choice(texts), statuses=[rng.choice([0, 1, 5])]), metadata=metadata, timeout=timeout)
                elif which == 4:
                    req = pb2.GetEquityCurveRequest(session_id=rng.choice(started + texts) if started else rng.choice(texts),
                                                    chunk_size=rng.choice([0, 1, 50000, 50001]))
                    if rng.random() < 0.5: req.start_time.CopyFrom(ts())
                    if rng.random() < 0.5: req.end_time.CopyFrom(ts())
                    list(stub.GetEquityCurve(req, metadata=metadata, timeout=timeout))
                else:
                    stub.StopBacktest(pb2.StopBacktestRequest(session_id=rng.choice(started + texts) if started else rng.choice(texts),
                                                              reason=rng.choice(texts)), metadata=metadata, timeout=timeout)
                codes["OK"] = codes.get("OK", 0) + 1
            except grpc.RpcError as e:
                codes[e.code().name] = codes.get(e.code().name, 0) + 1
                if e.code() == grpc.StatusCode.INVALID_ARGUMENT:
                    details.add(e.details())
        alive = stub.ListActive(pb2.ListActiveRequest(), metadata=metadata, timeout=timeout)
        for sid in started:
            stub.StopBacktest(pb2.StopBacktestRequest(session_id=sid), metadata=metadata, timeout=timeout)
        emit(code="OK", codes=codes, started=len(started), invalid_argument_messages=sorted(details))
    else:
        emit(code="USAGE", details=f"unknown mode {mode}")
except grpc.RpcError as e:
    error(e)
