#!/usr/bin/env python3
"""A server that holds back its SETTINGS: prints its port, takes one connection, reads
the client's preface, waits for a line on stdin, then sends SETTINGS and prints the
:path of the first request (HEADERS) the client sends, as JSON, and closes.

usage: h2_late_settings.py
"""
import json
import socket
import sys

from hpack import Decoder
from hyperframe.frame import Frame, HeadersFrame, SettingsFrame

PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"


def read_exactly(sock, n):
    data = b""
    while len(data) < n:
        chunk = sock.recv(n - len(data))
        if not chunk:
            raise EOFError
        data += chunk
    return data


def read_frame(sock):
    header = read_exactly(sock, 9)
    frame, length = Frame.parse_frame_header(header)
    frame.parse_body(memoryview(read_exactly(sock, length)))
    return frame


listener = socket.socket()
listener.bind(("127.0.0.1", 0))
listener.listen(1)
print(listener.getsockname()[1], flush=True)
conn, _ = listener.accept()
assert read_exactly(conn, len(PREFACE)) == PREFACE
sys.stdin.readline()
conn.sendall(SettingsFrame(0).serialize())
path = None
try:
    while path is None:
        frame = read_frame(conn)
        if isinstance(frame, SettingsFrame) and "ACK" not in frame.flags:
            ack = SettingsFrame(0)
            ack.flags.add("ACK")
            conn.sendall(ack.serialize())
        if isinstance(frame, HeadersFrame):
            path = dict(Decoder().decode(frame.data)).get(":path")
except EOFError:
    pass
print(json.dumps({"first_path": path}), flush=True)
conn.close()
