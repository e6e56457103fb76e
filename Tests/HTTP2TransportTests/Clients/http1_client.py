"""HTTP/1.1 against the server on raw sockets, byte for byte: keep-alive, pipelining,
malformed input, connection closing, 100-continue, a body larger than the flow-control
window. Prints one JSON line with what the server answered."""
import json
import socket
import struct
import sys

port, case = int(sys.argv[1]), sys.argv[2]


def frame(payload, flags=0):
    return bytes([flags]) + struct.pack(">I", len(payload)) + payload


def request(path, body, headers=(), version="HTTP/1.1", content_type="application/grpc-web+proto"):
    head = f"POST {path} {version}\r\nHost: 127.0.0.1\r\ncontent-type: {content_type}\r\n"
    head += f"content-length: {len(body)}\r\n" + "".join(h + "\r\n" for h in headers) + "\r\n"
    return head.encode() + body


class Reader:
    def __init__(self, sock):
        self.sock, self.buf = sock, b""

    def fill(self):
        data = self.sock.recv(65536)
        if not data:
            raise EOFError
        self.buf += data

    def line(self):
        while b"\r\n" not in self.buf:
            self.fill()
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line.decode()

    def take(self, n):
        while len(self.buf) < n:
            self.fill()
        out, self.buf = self.buf[:n], self.buf[n:]
        return out

    def response(self):
        """(status, headers, body) of one response; a 100 Continue is skipped."""
        while True:
            status = int(self.line().split(" ")[1])
            headers = {}
            while (line := self.line()) != "":
                name, value = line.split(":", 1)
                headers[name.strip().lower()] = value.strip()
            if status != 100:
                break
        body = b""
        if headers.get("transfer-encoding") == "chunked":
            while (size := int(self.line(), 16)) > 0:
                body += self.take(size)
                self.take(2)
            while self.line() != "":  # trailers
                pass
        else:
            body = self.take(int(headers.get("content-length", "0")))
        return status, headers, body

    def closed(self):
        """The server closes (EOF) with nothing more to say."""
        try:
            while True:
                data = self.sock.recv(65536)
                if not data:
                    return True
                self.buf += data
        except (socket.timeout, ConnectionResetError):
            return False


def envelopes(body):
    out, i = [], 0
    while i + 5 <= len(body):
        n = struct.unpack(">I", body[i + 1:i + 5])[0]
        out.append((body[i], body[i + 5:i + 5 + n].decode("latin-1")))
        i += 5 + n
    return out


s = socket.create_connection(("127.0.0.1", port))
s.settimeout(60)
r = Reader(s)
result = {}
if case == "keepalive":
    answers = []
    for word in [b"one", b"two", b"three"]:
        s.sendall(request("/test.Echo/Unary", frame(word)))
        status, headers, body = r.response()
        answers.append([status, envelopes(body)[0][1]])
    result = {"answers": answers}
elif case == "pipelined":
    s.sendall(b"".join(request("/test.Echo/Unary", frame(w)) for w in [b"a", b"b", b"c"]))
    result = {"answers": [envelopes(r.response()[2])[0][1] for _ in range(3)]}
elif case == "malformed":
    s.sendall(b"NOT HTTP AT ALL\x00\r\n\r\n")
    status, headers, body = r.response()
    result = {"status": status, "connection": headers.get("connection"), "closed": r.closed()}
elif case == "header_overflow":
    s.sendall(b"POST /test.Echo/Unary HTTP/1.1\r\nHost: x\r\nx-big: " + b"a" * 100_000 + b"\r\n\r\n")
    status, headers, body = r.response()
    result = {"status": status, "closed": r.closed()}
elif case == "header_list":
    # Within the parser's bounds, over the server's header list limit (16 KiB).
    big = [f"x-h{i}: " + "v" * 1000 for i in range(20)]
    s.sendall(request("/test.Echo/Unary", frame(b"x"), big))
    status, headers, body = r.response()
    s.sendall(request("/test.Echo/Unary", frame(b"after")))
    result = {"status": status, "grpc-status": headers.get("grpc-status"),
              "next": envelopes(r.response()[2])[0][1]}
elif case == "http10":
    s.sendall(request("/test.Echo/Unary", frame(b"old"), version="HTTP/1.0"))
    status, headers, body = r.response()
    result = {"status": status, "body": envelopes(body)[0][1], "closed": r.closed()}
elif case == "connection_close":
    s.sendall(request("/test.Echo/Unary", frame(b"bye"), ["connection: close"]))
    status, headers, body = r.response()
    result = {"status": status, "connection": headers.get("connection"), "closed": r.closed()}
elif case == "expect_continue":
    body = frame(b"x" * 4000)
    head = request("/test.Echo/Unary", body, ["expect: 100-continue"])[:-len(body)]
    s.sendall(head)
    interim = r.line()
    r.line()
    s.sendall(body)
    status, headers, answer = r.response()
    result = {"interim": interim, "status": status, "length": len(envelopes(answer)[0][1])}
elif case == "slow_reader":
    # 40 messages of 512 KiB to a reader taking 20 ms each: 20 MiB, far over the window.
    body = b"".join(frame(b"z" * (512 << 10)) for _ in range(40))
    s.sendall(request("/test.Echo/SlowClientStream", body))
    status, headers, answer = r.response()
    result = {"status": status, "answer": envelopes(answer)[0][1]}
elif case == "disconnect":
    # A stream that would run for minutes, abandoned after its first message.
    s.sendall(request("/test.Echo/SlowStream", frame(b"100000")))
    status = int(r.line().split(" ")[1])
    while r.line() != "":
        pass
    size = int(r.line(), 16)
    r.take(size)
    s.close()
    result = {"status": status, "first": size}
elif case == "gone_while_paused":
    # A reader that stopped after one message: the server takes 8 more (4 MiB behind),
    # then a 1 MiB window, then stops reading. The client sends a little past that, so
    # all it sent reaches the server's socket and its close (FIN) follows; the server,
    # not reading this connection, must still notice it.
    body = frame(b"z" * (512 << 10))
    s.sendall(b"POST /test.Echo/StuckClientStream HTTP/1.1\r\nHost: x\r\n"
              b"content-type: application/grpc-web+proto\r\ncontent-length: %d\r\n\r\n" % (40 * len(body)))
    s.sendall(body * 11 + body[:32 << 10])
    s.close()
    result = {"sent": 11 * len(body) + (32 << 10)}
elif case == "chunked_request":
    body = frame(b"chunky")
    s.sendall(b"POST /test.Echo/Unary HTTP/1.1\r\nHost: x\r\ncontent-type: application/grpc-web+proto\r\n"
              b"transfer-encoding: chunked\r\n\r\n" + b"%x\r\n" % 3 + body[:3] + b"\r\n"
              + b"%x\r\n" % (len(body) - 3) + body[3:] + b"\r\n0\r\n\r\n")
    status, headers, answer = r.response()
    result = {"status": status, "answer": envelopes(answer)[0][1]}
elif case == "smuggling":
    # Content-Length and chunked together: refused, not guessed (request smuggling).
    s.sendall(b"POST /test.Echo/Unary HTTP/1.1\r\nHost: x\r\ncontent-type: application/grpc-web+proto\r\n"
              b"content-length: 4\r\ntransfer-encoding: chunked\r\n\r\n0\r\n\r\n")
    status, headers, body = r.response()
    result = {"status": status, "closed": r.closed()}
print(json.dumps(result))
