#!/usr/bin/env python3
"""Writes the binary seeds of the fuzz harnesses into corpus/ (the text seeds, CSV and
strategies, are plain files there):

- corpus/grpc: real requests of every method, encoded by Python's protobuf from the
  contract's descriptor set, framed as gRPC (some gzip-compressed, some as JSON), each
  after its method's path and a newline, as fuzz-grpc reads them;
- corpus/h2: whole client connections to fuzz-h2's server (preface, SETTINGS, HEADERS
  with hpack, DATA, PING, RST_STREAM...), the shapes real clients send and a few they
  should not.

usage: .venv/bin/python tools/fuzz/make_corpus.py   (from anywhere; rewrites both folders)
"""
import gzip
import os
import shutil
import struct

from google.protobuf import descriptor_pb2, descriptor_pool, json_format, message_factory
from hpack import Encoder
from hyperframe.frame import (ContinuationFrame, DataFrame, GoAwayFrame, HeadersFrame, PingFrame, PriorityFrame,
                              RstStreamFrame, SettingsFrame, WindowUpdateFrame)

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"

BT = "/backtest.v1.BacktestService/"
RULES = {"name": "SMA cross", "rules": [
    {"name": "buy", "kind": "RULE_KIND_ENTRY_LONG", "expression": "crosses_above(sma(close, $fast), sma(close, $slow))"},
    {"name": "sell", "kind": "RULE_KIND_EXIT_LONG", "expression": "crosses_below(sma(close, $fast), sma(close, $slow))"}],
    "stopLossPct": 5, "takeProfitPct": 10, "params": {"fast": 10, "slow": 20}}

# (method path, request type, [requests as proto3 JSON]): a client-streaming call's
# requests all go in one body.
REQUESTS = [
    (BT + "StartBacktest", "backtest.v1.StartBacktestRequest", [{
        "symbol": "GOOG", "timeframe": "1d", "startTime": "2004-08-19T00:00:00Z", "endTime": "2013-03-01T00:00:00Z",
        "initialCapital": 10000, "strategy": {"rules": RULES},
        "costs": {"commissionFixed": 1, "commissionRate": 0.002, "slippageBps": 2.5}, "fillMode": "FILL_MODE_ON_CLOSE",
        "sizing": {"mode": "SIZING_MODE_EQUITY_FRACTION", "value": 0.5, "fractionalUnits": True},
        "accelerationFactor": 3600, "equitySampleInterval": "60s", "clientRequestId": "req-1",
        "labels": {"team": "quant"}, "leaveOpenAtEnd": True}]),
    (BT + "StartBacktest", "backtest.v1.StartBacktestRequest", [{
        "symbol": "GOOG", "initialCapital": 10000,
        "strategy": {"builtin": {"name": "sma_cross", "params": {"n1": 10, "n2": 20}}}}]),
    (BT + "StopBacktest", "backtest.v1.StopBacktestRequest", [{"sessionId": "s-0123456789abcdef", "reason": "enough"}]),
    (BT + "ListActive", "backtest.v1.ListActiveRequest", [{"symbol": "GOOG"}]),
    (BT + "WatchProgress", "backtest.v1.WatchProgressRequest", [{"sessionId": "s-1", "minInterval": "0.250s"}]),
    (BT + "GetSession", "backtest.v1.GetSessionRequest", [{"sessionId": "s-1"}]),
    (BT + "ListSessions", "backtest.v1.ListSessionsRequest", [{
        "statuses": ["SESSION_STATUS_COMPLETED", "SESSION_STATUS_FAILED"], "symbol": "GOOG",
        "createdAfter": "2024-01-01T00:00:00Z", "createdBefore": "2024-02-01T12:30:00.5Z",
        "labels": {"team": "quant"}, "pageSize": 50, "pageToken": "MTA="}]),
    (BT + "GetTrades", "backtest.v1.GetTradesRequest", [{"sessionId": "s-1", "chunkSize": 500}]),
    (BT + "GetEquityCurve", "backtest.v1.GetEquityCurveRequest", [{
        "sessionId": "s-1", "startTime": "2004-08-19T00:00:00Z", "endTime": "2005-01-01T00:00:00Z",
        "chunkSize": 1000}]),
    (BT + "ImportMarketData", "backtest.v1.ImportMarketDataRequest", [
        {"header": {"symbol": "GOOG", "kind": "DATA_KIND_CANDLES", "timeframe": "1d", "format": "IMPORT_FORMAT_CSV",
                    "sourceName": "GOOG.csv", "replaceExisting": True}},
        {"csvChunk": "LE9wZW4sSGlnaCxMb3csQ2xvc2UsVm9sdW1lCjIwMDQtMDgtMTks"},
        {"csvChunk": "MTAwLDEwNC4wNiw5NS45NiwxMDAuMzQsMjIzNTE5MDAK"}]),
    (BT + "ImportMarketData", "backtest.v1.ImportMarketDataRequest", [
        {"header": {"symbol": "BTC", "kind": "DATA_KIND_TICKS", "format": "IMPORT_FORMAT_ROWS"}},
        {"ticks": {"timeUs": ["1704187800000001", "1704187800000001"], "price": [100.25, 100.5], "size": [5, 1]}}]),
    (BT + "ImportMarketData", "backtest.v1.ImportMarketDataRequest", [
        {"header": {"symbol": "GOOG", "kind": "DATA_KIND_CANDLES", "timeframe": "1d", "format": "IMPORT_FORMAT_ROWS"}},
        {"candles": {"timeUs": ["1092873600000000"], "open": [100], "high": [104.06], "low": [95.96],
                     "close": [100.34], "volume": [22351900]}}]),
    (BT + "ListMarketData", "backtest.v1.ListMarketDataRequest", [{"symbol": "GOOG"}]),
    ("/grpc.health.v1.Health/Check", "grpc.health.v1.HealthCheckRequest", [{"service": "backtest.v1.BacktestService"}]),
    ("/grpc.health.v1.Health/List", "grpc.health.v1.HealthListRequest", [{}]),
    ("/grpc.health.v1.Health/Watch", "grpc.health.v1.HealthCheckRequest", [{"service": ""}]),
    ("/grpc.reflection.v1.ServerReflection/ServerReflectionInfo", "grpc.reflection.v1.ServerReflectionRequest",
     [{"host": "", "listServices": ""}, {"fileContainingSymbol": "backtest.v1.BacktestService"},
      {"fileByFilename": "backtest/v1/backtest.proto"}]),
    ("/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo",
     "grpc.reflection.v1alpha.ServerReflectionRequest", [{"listServices": "*"}]),
]


def frame(payload, compressed=False):
    return bytes([1 if compressed else 0]) + struct.pack(">I", len(payload)) + payload


def message_class(pool, name):
    return message_factory.GetMessageClass(pool.FindMessageTypeByName(name))


def write(folder, name, data):
    with open(os.path.join(folder, name), "wb") as fh:
        fh.write(data)


def grpc_seeds(folder):
    fds = descriptor_pb2.FileDescriptorSet()
    with open(os.path.join(ROOT, "generated", "backtest.binpb"), "rb") as fh:
        fds.ParseFromString(fh.read())
    pool = descriptor_pool.DescriptorPool()
    for f in fds.file:
        pool.Add(f)
    for i, (path, type_name, requests) in enumerate(REQUESTS):
        cls = message_class(pool, type_name)
        encoded = [json_format.ParseDict(r, cls()).SerializeToString(deterministic=True) for r in requests]
        stem = f"{i:02d}-{path.rsplit('/', 1)[1]}"
        head = path.encode() + b"\n"
        write(folder, stem, head + b"".join(frame(e) for e in encoded))
        write(folder, stem + "-gzip", head + b"".join(frame(gzip.compress(e, mtime=0), True) for e in encoded))
        write(folder, stem + "-json", head + json_format.MessageToJson(
            json_format.ParseDict(requests[0], cls()), indent=None).encode())
    # Framing edge cases on one method: empty messages, one split short, a lying length.
    head = (BT + "GetSession\n").encode()
    write(folder, "framing-empty", head + frame(b"") + frame(b""))
    write(folder, "framing-short", head + frame(b"\x0a\x03s-1")[:-2])
    write(folder, "framing-huge-length", head + b"\x00\x7f\xff\xff\xff\x0a")


def settings(**values):
    f = SettingsFrame(0)
    ids = {"header_table_size": 1, "enable_push": 2, "max_concurrent_streams": 3, "initial_window_size": 4,
           "max_frame_size": 5, "max_header_list_size": 6}
    for k, v in values.items():
        f.settings[ids[k]] = v
    return f.serialize()


def headers(enc, stream, path, end_stream=False, extra=(), method="POST", content_type="application/grpc",
            continuation=False, padded=False):
    fields = [(":method", method), (":scheme", "http"), (":path", path), (":authority", "127.0.0.1"),
              ("content-type", content_type), ("te", "trailers"), ("user-agent", "grpc-python/1.85")] + list(extra)
    block = enc.encode(fields)
    if continuation:
        first = HeadersFrame(stream, block[:10])
        rest = ContinuationFrame(stream, block[10:], flags=["END_HEADERS"])
        if end_stream:
            first.flags.add("END_STREAM")
        return first.serialize() + rest.serialize()
    f = HeadersFrame(stream, block, flags=["END_HEADERS"])
    if padded:
        f.flags.add("PADDED")
        f.pad_length = 7
    if end_stream:
        f.flags.add("END_STREAM")
    return f.serialize()


def data(stream, payload, end_stream=True, padded=False):
    f = DataFrame(stream, payload, flags=["END_STREAM"] if end_stream else [])
    if padded:
        f.flags.add("PADDED")
        f.pad_length = 3
    return f.serialize()


def h2_seeds(folder):
    echo = "/fuzz.Echo/"
    hello = frame(b"hello")
    seeds = {}

    def conn(name, build, client_settings=None):
        enc = Encoder()
        seeds[name] = PREFACE + (client_settings or settings()) + build(enc)

    conn("unary", lambda e: headers(e, 1, echo + "Unary") + data(1, hello))
    conn("unary-metadata", lambda e: headers(e, 1, echo + "Unary", extra=[
        ("grpc-timeout", "1S"), ("authorization", "Bearer t0k3n"), ("x-trace-bin", "AAEC"),
        ("x-request-id", "r-1")]) + data(1, hello))
    conn("unary-gzip", lambda e: headers(e, 1, echo + "Unary", extra=[("grpc-encoding", "gzip")])
         + data(1, frame(gzip.compress(b"hello", mtime=0), True)))
    conn("server-stream", lambda e: headers(e, 1, echo + "Expand") + data(1, frame(b"abcdefgh")))
    conn("client-stream-split", lambda e: headers(e, 1, echo + "Collect") + data(1, hello[:3], False)
         + data(1, hello[3:] + frame(b"world")[:4], False) + data(1, frame(b"world")[4:]))
    conn("bidi", lambda e: headers(e, 1, echo + "Echo") + data(1, hello, False) + data(1, frame(b"again")))
    conn("two-streams-reset", lambda e: headers(e, 1, echo + "Wait") + headers(e, 3, echo + "Unary")
         + data(3, hello) + RstStreamFrame(1, error_code=8).serialize()
         + WindowUpdateFrame(0, window_increment=65535).serialize() + PingFrame(0, b"12345678").serialize())
    conn("continuation", lambda e: headers(e, 1, echo + "Unary", continuation=True) + data(1, hello))
    conn("padded", lambda e: headers(e, 1, echo + "Unary", padded=True) + data(1, hello, padded=True))
    conn("trailers", lambda e: headers(e, 1, echo + "Collect") + data(1, hello, False)
         + HeadersFrame(1, e.encode([("x-client-trailer", "1")]), flags=["END_HEADERS", "END_STREAM"]).serialize())
    conn("deadline", lambda e: headers(e, 1, echo + "Wait", extra=[("grpc-timeout", "1m")]) + data(1, frame(b"")))
    conn("health", lambda e: headers(e, 1, "/grpc.health.v1.Health/Check") + data(1, frame(b"\x0a\x09fuzz.Echo")))
    conn("unknown-method", lambda e: headers(e, 1, "/backtest.v1.BacktestService/GetSession") + data(1, hello))
    conn("get", lambda e: headers(e, 1, echo + "Unary", method="GET", end_stream=True))
    conn("content-type", lambda e: headers(e, 1, echo + "Unary", content_type="text/plain") + data(1, hello))
    conn("bad-encoding-timeout", lambda e: headers(e, 1, echo + "Unary", extra=[("grpc-encoding", "br")])
         + data(1, hello) + headers(e, 3, echo + "Unary", extra=[("grpc-timeout", "forever")]) + data(3, hello))
    conn("compressed-no-encoding", lambda e: headers(e, 1, echo + "Unary") + data(1, frame(b"x", True)))
    conn("settings-priority-goaway", lambda e: settings(initial_window_size=1, max_frame_size=16384)
         + PriorityFrame(1, depends_on=0, stream_weight=16).serialize() + headers(e, 1, echo + "Expand")
         + data(1, frame(b"abcdefgh")) + WindowUpdateFrame(1, window_increment=100).serialize()
         + GoAwayFrame(0, last_stream_id=0, error_code=0).serialize(),
         client_settings=settings(header_table_size=0, enable_push=0, max_concurrent_streams=10,
                                  max_header_list_size=8192))
    conn("settings-ack-ping-ack", lambda e: SettingsFrame(0, flags=["ACK"]).serialize()
         + PingFrame(0, b"abcdefgh", flags=["ACK"]).serialize() + headers(e, 1, echo + "Unary") + data(1, hello))
    seeds["preface-only"] = PREFACE
    seeds["half-preface"] = PREFACE[:11]
    seeds["http1"] = b"POST /fuzz.Echo/Unary HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n"

    # HTTP/1.1 (gRPC-Web, Connect): keep-alive, pipelining, chunked bodies, 100-continue.
    def h1(path, body, content_type="application/grpc-web+proto", extra=""):
        return (f"POST {path} HTTP/1.1\r\nHost: x\r\ncontent-type: {content_type}\r\n{extra}"
                f"content-length: {len(body)}\r\n\r\n").encode() + body
    seeds["http1-pipelined"] = h1(echo + "Unary", hello) + h1(echo + "Expand", frame(b"abc")) \
        + h1(echo + "Unary", b"hi", "application/proto")
    seeds["http1-chunked"] = (f"POST {echo}Collect HTTP/1.1\r\nHost: x\r\ncontent-type: application/connect+proto\r\n"
                              "transfer-encoding: chunked\r\n\r\n").encode() \
        + b"3\r\n" + hello[:3] + b"\r\n" + b"%x\r\n" % (len(hello) - 3) + hello[3:] + b"\r\n0\r\n\r\n"
    seeds["http1-continue-close"] = h1(echo + "Unary", hello, extra="expect: 100-continue\r\nconnection: close\r\n")
    seeds["http1-wait-then-more"] = h1(echo + "Wait", hello, extra="grpc-timeout: 1m\r\n") + h1(echo + "Unary", hello)
    seeds["http1-text-options"] = h1(echo + "Unary", b"AAAAAAVoZWxsbw==", "application/grpc-web-text") \
        + b"OPTIONS / HTTP/1.1\r\nHost: x\r\norigin: https://a.example\r\n\r\nGET / HTTP/1.0\r\n\r\n"
    for name, blob in seeds.items():
        write(folder, name, blob)


def main():
    for name, build in (("grpc", grpc_seeds), ("h2", h2_seeds)):
        folder = os.path.join(HERE, "corpus", name)
        shutil.rmtree(folder, ignore_errors=True)
        os.makedirs(folder)
        build(folder)
        print(f"make_corpus: {len(os.listdir(folder))} seeds in {os.path.relpath(folder, ROOT)}")


if __name__ == "__main__":
    main()
