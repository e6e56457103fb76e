"""A stand-in for QuestDB's ILP HTTP endpoint, for fault tests only.

Usage: ilp_http_server.py MODE PORTFILE RESULTFILE
Writes its port to PORTFILE, answers requests according to MODE, then writes the
request bodies it received (hex) and paths to RESULTFILE as JSON and exits.
Modes: 400 (one JSON error), 500-then-204 (two requests), timeout (accepts one
request and never answers), keepalive-204 (three requests on ONE connection, each
answered as QuestDB does: 204, no Content-Length, the connection kept open).
"""
import json
import socket
import sys
import time

mode, port_file, result_file = sys.argv[1:4]
server = socket.socket()
server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
server.bind(("127.0.0.1", 0))
server.listen(8)
server.settimeout(30)
with open(port_file + ".tmp", "w") as f:
    f.write(str(server.getsockname()[1]))
import os
os.rename(port_file + ".tmp", port_file)

answers = {
    "400": [(400, b'{"code":"invalid","message":"failed to parse line protocol:errors encountered on line(s):\\nerror in line 2: table: t; invalid field value","line":2,"errorId":"abc-1"}')],
    "500-then-204": [(500, b'{"code":"internal error","message":"disk full, try again","errorId":"abc-2"}'), (204, b"")],
    "timeout": [None],
    "keepalive-204": [],
}[mode]

received = []


def read_request(conn, data=b""):
    while b"\r\n\r\n" not in data:
        chunk = conn.recv(65536)
        if not chunk:
            raise SystemExit("connection closed before a request")
        data += chunk
    head, body = data.split(b"\r\n\r\n", 1)
    lines = head.decode().split("\r\n")
    length = next(int(l.split(":", 1)[1]) for l in lines[1:] if l.lower().startswith("content-length:"))
    while len(body) < length:
        body += conn.recv(65536)
    return {"path": lines[0].split(" ")[1], "body": body[:length].hex()}, body[length:]


if mode == "keepalive-204":
    conn, _ = server.accept()
    conn.settimeout(30)
    rest = b""
    for _ in range(3):
        request, rest = read_request(conn, rest)
        received.append(request)
        conn.sendall(b"HTTP/1.1 204 No Content\r\nServer: questDB/1.0\r\n\r\n")
    # A second connection would mean the client did not reuse this one.
    server.settimeout(1)
    try:
        server.accept()
        received.append({"path": "second connection", "body": ""})
    except socket.timeout:
        pass
    answers = []

for answer in answers:
    conn, _ = server.accept()
    conn.settimeout(30)
    request, _ = read_request(conn)
    received.append(request)
    if answer is None:
        time.sleep(3)
        conn.close()
        break
    status, payload = answer
    reason = {400: "Bad Request", 500: "Internal Server Error", 204: "No Content"}[status]
    response = f"HTTP/1.1 {status} {reason}\r\nContent-Type: application/json\r\nContent-Length: {len(payload)}\r\nConnection: close\r\n\r\n".encode() + payload
    conn.sendall(response)
    conn.close()

with open(result_file, "w") as f:
    json.dump({"requests": received}, f)
print(json.dumps({"requests": len(received)}))
