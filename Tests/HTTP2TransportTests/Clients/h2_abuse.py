#!/usr/bin/env python3
"""Raw HTTP/2 abuse: frames built with hyperframe (the h2 package refuses to emit
invalid ones), written straight to the server's socket. Prints one JSON object:
{"goaway": error code or null, "closed": bool, "frames": count read}.

usage: h2_abuse.py PORT CASE
"""
import json
import socket
import struct
import sys
import time

from hpack import Encoder
from hyperframe.frame import (ContinuationFrame, DataFrame, Frame, GoAwayFrame, HeadersFrame, PingFrame,
                              RstStreamFrame, SettingsFrame, WindowUpdateFrame)

PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
port, case = int(sys.argv[1]), sys.argv[2]
enc = Encoder()


def request_headers(stream_id, end_headers=True, end_stream=False, path="/test.Echo/Unary"):
    block = enc.encode([(":method", "POST"), (":scheme", "http"), (":path", path),
                        (":authority", "127.0.0.1"), ("content-type", "application/grpc"), ("te", "trailers")])
    f = HeadersFrame(stream_id, block)
    if end_headers:
        f.flags.add("END_HEADERS")
    if end_stream:
        f.flags.add("END_STREAM")
    return f.serialize()


def raw_frame(ftype, flags, stream_id, payload):
    return struct.pack(">I", len(payload))[1:] + bytes([ftype, flags]) + struct.pack(">I", stream_id) + payload


s = socket.create_connection(("127.0.0.1", port))
s.settimeout(1 if case == "half_open" else 3)
out = b""
if case == "bad_preface":
    out = b"GET / HTTP/1.1\r\nHost: x\r\n\r\n" + b"\x00" * 64
else:
    out = PREFACE + SettingsFrame(0).serialize()
    if case == "data_on_stream_0":
        out += raw_frame(0x0, 0, 0, b"hello")
    elif case == "oversized_frame":
        out += request_headers(1) + raw_frame(0x0, 0, 1, b"x" * 20000)
    elif case == "window_overflow":
        out += WindowUpdateFrame(0, 0x7FFFFFFF).serialize() + WindowUpdateFrame(0, 0x7FFFFFFF).serialize()
    elif case == "rst_flood":
        for i in range(0, 20000):
            sid = 1 + 2 * i
            out += request_headers(sid) + RstStreamFrame(sid, 8).serialize()
    elif case == "continuation_flood":
        out += request_headers(1, end_headers=False)
        for _ in range(5000):
            out += ContinuationFrame(1, b"").serialize()
    elif case == "ping_flood":
        for i in range(6):
            out += PingFrame(0, opaque_data=struct.pack(">Q", i)).serialize()
    elif case == "slow_reader":
        # Asks for a million streamed messages, then never reads: the stream window
        # (65,535 bytes by default) fills and only flow control stops the server.
        body = b"\x00" + struct.pack(">I", 7) + b"1000000"
        out += request_headers(1, path="/test.Echo/ServerStream") + DataFrame(1, body, flags=["END_STREAM"]).serialize()
    elif case == "half_open":
        # Opens a stream and then says nothing more; the server must not hang on it.
        out += request_headers(1)
try:
    s.sendall(out)
except OSError:
    pass

goaway, closed, frames = None, False, 0
buf = b""
deadline = time.monotonic() + (1.0 if case == "half_open" else 5.0)
if case == "slow_reader":
    # Hold the connection without reading for a while, then report and leave.
    time.sleep(float(sys.argv[3]) if len(sys.argv) > 3 else 2.0)
    print(json.dumps({"goaway": None, "closed": False, "frames": 0}))
    sys.exit(0)
while time.monotonic() < deadline:
    try:
        chunk = s.recv(65536)
    except socket.timeout:
        break
    except OSError:
        closed = True
        break
    if not chunk:
        closed = True
        break
    buf += chunk
    while len(buf) >= 9:
        f, length = Frame.parse_frame_header(memoryview(buf[:9]))
        if len(buf) < 9 + length:
            break
        f.parse_body(memoryview(buf[9:9 + length]))
        buf = buf[9 + length:]
        frames += 1
        if isinstance(f, GoAwayFrame):
            goaway = f.error_code
print(json.dumps({"goaway": goaway, "closed": closed, "frames": frames}))
