#!/usr/bin/env python3
"""Raw HTTP/2 against the server's limits (header list size, concurrent streams,
connection lifetime), frames built with hyperframe and header blocks by hand, so
that nothing on this side enforces a limit for the server. Prints one JSON object.

usage: h2_limits.py PORT CASE [ARGS...]

Every wait is a generous upper bound ("eventually"); a close is seen as EOF (or a
reset) on the socket, never assumed after a sleep.
"""
import json
import socket
import struct
import sys
import time

from hpack import Decoder
from hyperframe.frame import (ContinuationFrame, DataFrame, Frame, GoAwayFrame, HeadersFrame, PingFrame,
                              RstStreamFrame, SettingsFrame)

PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
MAX_FRAME = 16384
port, case, args = int(sys.argv[1]), sys.argv[2], sys.argv[3:]


def integer(value, prefix_bits, first=0):
    """An HPACK integer (RFC 7541 5.1), its first byte or-ed with `first`."""
    limit = (1 << prefix_bits) - 1
    if value < limit:
        return bytes([first | value])
    out = bytearray([first | limit])
    value -= limit
    while value >= 128:
        out.append((value & 0x7F) | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


def string(s):
    b = s.encode() if isinstance(s, str) else s
    return integer(len(b), 7) + b


def literal(name, value, index=False):
    """A literal field: without indexing (the dynamic table stays as it is) unless `index`."""
    return (b"\x40" if index else b"\x00") + string(name) + string(value)


def request_block(path="/test.Echo/Unary", extra=()):
    fields = [(":method", "POST"), (":scheme", "http"), (":path", path), (":authority", "127.0.0.1"),
              ("content-type", "application/grpc"), ("te", "trailers")] + list(extra)
    return b"".join(literal(n, v) for n, v in fields)


def headers_frames(stream_id, block, end_stream=False):
    """HEADERS plus CONTINUATION frames carrying `block`."""
    chunks = [block[i:i + MAX_FRAME] for i in range(0, len(block), MAX_FRAME)] or [b""]
    first = HeadersFrame(stream_id, chunks[0])
    if end_stream:
        first.flags.add("END_STREAM")
    frames = [first] + [ContinuationFrame(stream_id, c) for c in chunks[1:]]
    frames[-1].flags.add("END_HEADERS")
    return b"".join(f.serialize() for f in frames)


def message(payload=b""):
    """A gRPC length-prefixed message."""
    return b"\x00" + struct.pack(">I", len(payload)) + payload


def data(stream_id, payload, end_stream=True):
    return DataFrame(stream_id, payload, flags=["END_STREAM"] if end_stream else []).serialize()


class Conn:
    """One raw connection: sends bytes, reads frames, keeps what it saw."""

    def __init__(self, handshake=True, settings=None):
        self.s = socket.create_connection(("127.0.0.1", port))
        self.buf = b""
        self.decoder = Decoder()
        self.decoder.max_header_list_size = 1 << 20
        self.goaway = None
        self.goaway_debug = None
        self.closed = False
        self.frames = 0
        self.server_settings = False
        self.headers = {}  # stream id -> list of decoded header lists
        self.rst = {}  # stream id -> error code
        self.ended = set()  # streams the server ended (END_STREAM or RST_STREAM)
        self._block = None
        self.answer = handshake  # a half-sent preface must not be followed by frames
        if handshake:
            self.send(PREFACE + SettingsFrame(0, settings=settings or {}).serialize())
            self.until(lambda: self.server_settings, 60)

    def send(self, b):
        try:
            self.s.sendall(b)
        except OSError:
            self.closed = True

    def until(self, done, seconds):
        """Reads frames until `done()` or EOF or `seconds` pass; returns done()."""
        deadline = time.monotonic() + seconds
        while not done() and not self.closed:
            left = deadline - time.monotonic()
            if left <= 0:
                break
            self.s.settimeout(left)
            try:
                chunk = self.s.recv(65536)
            except socket.timeout:
                break
            except OSError:
                self.closed = True
                break
            if not chunk:
                self.closed = True
                break
            self.buf += chunk
            self._parse()
        return done()

    def _parse(self):
        while len(self.buf) >= 9:
            f, length = Frame.parse_frame_header(memoryview(self.buf[:9]))
            if len(self.buf) < 9 + length:
                return
            f.parse_body(memoryview(self.buf[9:9 + length]))
            self.buf = self.buf[9 + length:]
            self.frames += 1
            self._frame(f)

    def _frame(self, f):
        if isinstance(f, SettingsFrame):
            if "ACK" not in f.flags and self.answer:
                self.server_settings = True
                # Acknowledged at once: nghttp2 applies its own settings only then, which
                # is when a stream over its limit used to become a connection error.
                self.send(SettingsFrame(0, flags=["ACK"]).serialize())
        elif isinstance(f, GoAwayFrame):
            self.goaway = f.error_code
            self.goaway_debug = f.additional_data.decode(errors="replace")
        elif isinstance(f, RstStreamFrame):
            self.rst[f.stream_id] = f.error_code
            self.ended.add(f.stream_id)
        elif isinstance(f, PingFrame) and "ACK" not in f.flags and self.answer:
            self.send(PingFrame(0, opaque_data=f.opaque_data, flags=["ACK"]).serialize())
        elif isinstance(f, (HeadersFrame, ContinuationFrame)):
            if isinstance(f, HeadersFrame):
                self._block = (f.stream_id, bytearray(f.data), "END_STREAM" in f.flags)
            else:
                self._block[1].extend(f.data)
            if "END_HEADERS" in f.flags:
                sid, block, end = self._block
                fields = [(n.decode() if isinstance(n, bytes) else n, v.decode() if isinstance(v, bytes) else v)
                          for n, v in self.decoder.decode(bytes(block))]
                self.headers.setdefault(sid, []).append(fields)
                if end:
                    self.ended.add(sid)
        elif isinstance(f, DataFrame) and "END_STREAM" in f.flags:
            self.ended.add(f.stream_id)

    def outcome(self, sid):
        """The stream's grpc-status as a string, "rst:CODE", or None (no answer yet)."""
        for fields in self.headers.get(sid, []):
            for n, v in fields:
                if n == "grpc-status":
                    return v
        if sid in self.rst:
            return f"rst:{self.rst[sid]}"
        return None

    def message_of(self, sid):
        for fields in self.headers.get(sid, []):
            for n, v in fields:
                if n == "grpc-message":
                    return v
        return None

    def call(self, sid, path="/test.Echo/Unary", payload=b"ok", extra=(), seconds=60):
        """A whole unary call on stream `sid`; returns its outcome."""
        self.send(headers_frames(sid, request_block(path, extra)) + data(sid, message(payload)))
        self.until(lambda: sid in self.ended, seconds)
        return self.outcome(sid)

    def report(self, **kw):
        kw.update(goaway=self.goaway, goaway_debug=self.goaway_debug, closed=self.closed, frames=self.frames)
        print(json.dumps(kw))


def wait_closed(c, seconds):
    t0 = time.monotonic()
    c.until(lambda: False, seconds)
    return time.monotonic() - t0


if case == "header_bomb":
    # HPACK amplification: one 4,000-byte field enters the dynamic table, then every
    # further byte of the block (HEADERS and 8 CONTINUATIONs, each 16 KiB) names it
    # again: about 145,000 fields, ~550 MiB decoded from ~150 KiB on the wire.
    # ARGS: a method that answers an empty request (default: the test service's).
    path = args[0] if args else "/test.Echo/Unary"
    c = Conn()
    head = request_block(path) + literal("x-bomb", "a" * 4000, index=True)
    block = head + b"\xbe" * (9 * MAX_FRAME - len(head))  # 0xbe: dynamic table index 62
    fields = 6 + 1 + (len(block) - len(head))
    c.send(headers_frames(1, block) + data(1, message(b"bomb")))
    c.until(lambda: 1 in c.ended, 60)
    first = c.outcome(1)
    detail = c.message_of(1)
    # The same connection serves the next call.
    after = c.call(3, path=path, payload=b"")
    c.report(status1=first, message1=detail, status3=after, decoded_bytes=fields * 4038)
elif case == "big_header":
    # One header field of SIZE bytes (default: authorization, a bearer token), in as
    # many CONTINUATION frames as it takes.
    size, name = int(args[0]), (args[1] if len(args) > 1 else "authorization")
    c = Conn()
    value = "Bearer " + "t" * (size - 7) if name == "authorization" else "v" * size
    c.send(headers_frames(1, request_block(extra=[(name, value)])) + data(1, message(b"big")))
    c.until(lambda: 1 in c.ended, 30)
    first = c.outcome(1)
    detail = c.message_of(1)
    after = c.call(3)
    c.report(status1=first, message1=detail, status3=after)
elif case == "excess_streams":
    # LIMIT requests opened and left waiting for their message (the server counts
    # them open), then one stream more; then every waiting request is completed.
    limit = int(args[0])
    c = Conn()
    sids = [1 + 2 * i for i in range(limit)]
    for sid in sids:
        c.send(headers_frames(sid, request_block()))
    extra = 1 + 2 * limit
    c.send(headers_frames(extra, request_block()) + data(extra, message(b"extra")))
    c.until(lambda: extra in c.ended, 60)
    refused = c.outcome(extra)
    for sid in sids:
        c.send(data(sid, message(b"x%d" % sid)))
    c.until(lambda: all(sid in c.ended for sid in sids), 20)
    statuses = {str(sid): c.outcome(sid) for sid in sids}
    # With the earlier streams done, a new one is served again.
    retried = c.call(extra + 2)
    c.report(refused=refused, statuses=statuses, retried=retried)
elif case == "refusal_flood":
    # LIMIT streams held open, then COUNT more, each refused: a client that never
    # keeps to the limit.
    limit, count = int(args[0]), int(args[1])
    c = Conn()
    c.send(b"".join(headers_frames(1 + 2 * i, request_block()) for i in range(limit)))
    c.send(b"".join(headers_frames(1 + 2 * i, request_block(), end_stream=True) for i in range(limit, limit + count)))
    seconds = wait_closed(c, 30)
    c.report(refused=sum(code == 7 for code in c.rst.values()), seconds=seconds)
elif case == "half_preface":
    # Half the connection preface, then silence: a connection that never becomes one.
    c = Conn(handshake=False)
    c.send(PREFACE[:12])
    seconds = wait_closed(c, float(args[0]))
    c.report(seconds=seconds)
elif case == "silent":
    # Connects and sends nothing (over TLS: no ClientHello either).
    c = Conn(handshake=False)
    seconds = wait_closed(c, float(args[0]))
    c.report(seconds=seconds)
elif case == "preface_only":
    # A complete preface and SETTINGS, then silence: an idle connection.
    c = Conn()
    seconds = wait_closed(c, float(args[0]))
    c.report(seconds=seconds)
elif case == "many_half_open":
    # N connections that sent half a preface and N that sent a preface and nothing
    # more; how many the server has closed (EOF) within WAIT seconds.
    n, seconds = int(args[0]), float(args[1])
    half = [Conn(handshake=False) for _ in range(n)]
    for c in half:
        c.send(PREFACE[:12])
    idle = [Conn() for _ in range(n)]
    deadline = time.monotonic() + seconds
    for c in half + idle:
        c.until(lambda: False, max(0.01, deadline - time.monotonic()))
    print(json.dumps({"half_closed": sum(c.closed for c in half), "idle_closed": sum(c.closed for c in idle),
                      "idle_goaway": sum(c.goaway == 0 for c in idle)}))
elif case == "call_then_idle":
    # One call, then silence: idle counts from the last call's end.
    c = Conn()
    first = c.call(1)
    seconds = wait_closed(c, float(args[0]))
    c.report(status1=first, seconds=seconds)
elif case == "pings_during_call":
    # Pings 10 ms apart while a call is open: keepalive far more often than allowed.
    c = Conn()
    c.send(headers_frames(1, request_block("/test.Echo/Sleep")) + data(1, message()))
    for i in range(6):
        c.send(PingFrame(0, opaque_data=struct.pack(">Q", i)).serialize())
        c.until(lambda: False, 0.01)
    seconds = wait_closed(c, float(args[0]))
    c.report(seconds=seconds)
elif case == "max_age":
    # A request still being sent when the connection reaches its maximum age: the
    # GOAWAY is graceful, the request completes, then the connection closes.
    c = Conn()
    c.send(headers_frames(1, request_block()))
    c.until(lambda: c.goaway is not None, float(args[0]))
    c.send(data(1, message(b"late")))
    c.until(lambda: 1 in c.ended, 60)
    first = c.outcome(1)
    seconds = wait_closed(c, float(args[0]))
    c.report(status1=first, seconds=seconds)
elif case == "max_age_grace":
    # A call that would run for an hour when the connection reaches its maximum age:
    # after the grace the connection is closed anyway.
    c = Conn()
    c.send(headers_frames(1, request_block("/test.Echo/Sleep")) + data(1, message()))
    c.until(lambda: c.goaway is not None, float(args[0]))
    seconds = wait_closed(c, float(args[0]))
    c.report(status1=c.outcome(1), seconds=seconds)
elif case == "connection_cap":
    # CAP connections held open; one more is accepted and closed at once; once one of
    # the held ones leaves, a new one is served.
    cap, seconds = int(args[0]), float(args[1])
    held = [Conn() for _ in range(cap)]
    accepted = [h.server_settings for h in held]
    extra = Conn(handshake=False)
    extra.send(PREFACE + SettingsFrame(0).serialize())
    t0 = time.monotonic()
    extra.until(lambda: False, seconds)
    refused_after = time.monotonic() - t0
    held[0].s.close()
    later = None
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        later = Conn()
        if later.server_settings:
            break
        time.sleep(0.05)
    status = later.call(1) if later and later.server_settings else None
    print(json.dumps({"accepted": accepted, "refused_closed": extra.closed, "refused_frames": extra.frames,
                      "refused_seconds": refused_after, "later_status": status}))
elif case == "stalled_readers":
    # CONNS connections, each with STREAMS calls of PATH (request: PAYLOAD, hex) whose
    # stream windows are 0 (SETTINGS_INITIAL_WINDOW_SIZE) and never opened: the server
    # can send headers but no DATA. Held SECONDS, answering PINGs, while another client
    # calls PROBE (an empty request) on a new connection every 0.2 s.
    conns, streams, path, payload = int(args[0]), int(args[1]), args[2], bytes.fromhex(args[3])
    seconds, probe = float(args[4]), args[5]
    held = [Conn(settings={SettingsFrame.INITIAL_WINDOW_SIZE: 0}) for _ in range(conns)]
    for c in held:
        for i in range(streams):
            c.send(headers_frames(1 + 2 * i, request_block(path)) + data(1 + 2 * i, message(payload)))
    probes, slowest = [], 0.0
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        for c in held:
            c.until(lambda: False, 0.05)
        t0 = time.monotonic()
        other = Conn()
        probes.append(other.call(1, path=probe, payload=b""))
        slowest = max(slowest, time.monotonic() - t0)
        other.s.close()
        time.sleep(0.2)
    print(json.dumps({"answered": sum(len(c.headers) for c in held), "ended": sum(len(c.ended) for c in held),
                      "closed": sum(c.closed for c in held), "probes": probes, "slowest_probe": slowest}))
elif case == "churn":
    # N connections one after another, each closed as soon as the server's SETTINGS
    # arrived: by a reset (the default: no TIME_WAIT left on this side) or by "fin".
    # The server must close every one (ConnectionLimitsTests).
    n, reset = int(args[0]), (args[1:] or ["rst"])[0] != "fin"
    served = 0
    t0 = time.monotonic()
    for _ in range(n):
        c = Conn()
        served += c.server_settings
        if reset:
            c.s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        c.s.close()
    print(json.dumps({"served": served, "seconds": time.monotonic() - t0}))
else:
    print(json.dumps({"error": f"unknown case {case}"}))
