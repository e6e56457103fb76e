#!/usr/bin/env python3
"""A real gRPC client (grpcio) for the transport tests. Calls the test service that
HTTP2TransportTests serves, with raw bytes as messages, and prints one JSON object
with the outcome: {"code": "OK"|status name, "details": ..., ...}.

usage: grpc_client.py PORT CASE
"""
import json
import sys
import threading
import time

import grpc

import os

port, case = sys.argv[1], sys.argv[2]
options = [("grpc.max_receive_message_length", 64 << 20), ("grpc.max_send_message_length", 64 << 20)]
ca = os.environ.get("GRPC_TEST_CA")
if ca:
    # TLS: verify the server's certificate (made at test time for localhost) and its name.
    creds = grpc.ssl_channel_credentials(root_certificates=open(ca, "rb").read())
    channel = grpc.secure_channel(f"localhost:{port}", creds, options=options)
else:
    channel = grpc.insecure_channel(f"127.0.0.1:{port}", options=options)
ident = lambda b: b  # noqa: E731 - raw bytes in and out


def unary(method, payload, **kw):
    return channel.unary_unary(f"/test.Echo/{method}", request_serializer=ident, response_deserializer=ident)(payload, **kw)


def result(**kw):
    print(json.dumps(kw))


try:
    if case == "unary":
        r = unary("Unary", b"hello \x00\xff")
        result(code="OK", echo=r.hex())
    elif case == "empty":
        r = unary("Unary", b"")
        result(code="OK", echo=r.hex())
    elif case == "server_stream":
        call = channel.unary_stream("/test.Echo/ServerStream", request_serializer=ident, response_deserializer=ident)
        msgs = list(call(b"1000"))
        result(code="OK", count=len(msgs), first=msgs[0].decode(), last=msgs[-1].decode())
    elif case == "client_stream":
        call = channel.stream_unary("/test.Echo/ClientStream", request_serializer=ident, response_deserializer=ident)
        r = call(iter([b"x" * i for i in range(1, 501)]))
        result(code="OK", reply=r.decode())
    elif case == "near_limit":
        r = unary("Unary", b"a" * ((4 << 20) - 64))
        result(code="OK", size=len(r))
    elif case == "over_limit":
        unary("Unary", b"a" * ((4 << 20) + 1))
        result(code="OK")
    elif case == "deadline":
        t0 = time.monotonic()
        try:
            unary("Sleep", b"", timeout=0.3)
            result(code="OK")
        except grpc.RpcError as e:
            result(code=e.code().name, details=e.details(), seconds=time.monotonic() - t0)
    elif case == "cancel_stream":
        call = channel.unary_stream("/test.Echo/ServerStream", request_serializer=ident, response_deserializer=ident)
        it = call(b"1000000")
        got = [next(it) for _ in range(10)]
        it.cancel()
        result(code="CANCELLED", received=len(got))
    elif case == "unknown_method":
        unary("NoSuchMethod", b"")
        result(code="OK")
    elif case == "unknown_service":
        channel.unary_unary("/nope.Service/Call", request_serializer=ident, response_deserializer=ident)(b"")
        result(code="OK")
    elif case == "fail":
        unary("Fail", b"")
        result(code="OK")
    elif case == "metadata":
        r, call = channel.unary_unary("/test.Echo/Metadata", request_serializer=ident, response_deserializer=ident).with_call(
            b"", metadata=[("x-user", "ana"), ("x-trace-bin", b"\x00\x01\xfe\xff")])
        trailers = {k: (v.hex() if isinstance(v, bytes) else v) for k, v in call.trailing_metadata()}
        result(code="OK", body=r.decode(), trailers=trailers)
    elif case == "gzip":
        r = channel.unary_unary("/test.Echo/Unary", request_serializer=ident, response_deserializer=ident)(
            b"z" * 100000, compression=grpc.Compression.Gzip)
        result(code="OK", size=len(r), same=(r == b"z" * 100000))
    elif case == "gzip_bomb":
        # 5 MiB of zeros compress to a few KiB: the inflated size is over the 4 MiB limit.
        r = channel.unary_unary("/test.Echo/Unary", request_serializer=ident, response_deserializer=ident)(
            b"\0" * (5 << 20), compression=grpc.Compression.Gzip)
        result(code="OK")
    elif case == "churn":
        # Thousands of streams that end badly: cancelled mid-stream, or past their
        # deadline. Spread over three connections: each stays under the server's
        # Rapid Reset limit (1000 resets in a burst per connection).
        cancelled = expired = 0
        others = {}
        for _ in range(3):
            ch = grpc.insecure_channel(f"127.0.0.1:{port}", options=[("grpc.use_local_subchannel_pool", 1)])
            stream = ch.unary_stream("/test.Echo/ServerStream", request_serializer=ident, response_deserializer=ident)
            sleep = ch.unary_unary("/test.Echo/Sleep", request_serializer=ident, response_deserializer=ident)
            for batch in range(10):
                calls = [stream(b"1000000") for _ in range(60)]
                for c in calls:
                    next(c)
                    c.cancel()
                    cancelled += 1
                for f in [sleep.future(b"", timeout=0.05) for _ in range(30)]:
                    try:
                        f.result()
                    except grpc.RpcError as e:
                        if e.code() == grpc.StatusCode.DEADLINE_EXCEEDED:
                            expired += 1
                        else:
                            key = f"{e.code().name}: {e.details()}"
                            others[key] = others.get(key, 0) + 1
            ch.close()
        result(code="OK", cancelled=cancelled, expired=expired, others=others)
    elif case == "token":
        # A bearer token of the given size, through grpcio's own HTTP/2 stack.
        size = int(sys.argv[3])
        r = unary("Unary", b"t", metadata=[("authorization", "Bearer " + "k" * (size - 7))])
        result(code="OK")
    elif case == "sleep_long":
        unary("Sleep", b"", timeout=30)
        result(code="OK")
    elif case == "slow_stream":
        call = channel.unary_stream("/test.Echo/SlowStream", request_serializer=ident, response_deserializer=ident)
        msgs = list(call(b"150"))
        result(code="OK", count=len(msgs))
    elif case == "parallel":
        errors = []
        def worker():
            try:
                for _ in range(200):
                    assert unary("Unary", b"p") == b"p"
            except Exception as e:  # noqa: BLE001 - collected and reported
                errors.append(repr(e))
        threads = [threading.Thread(target=worker) for _ in range(8)]
        [t.start() for t in threads]
        [t.join() for t in threads]
        result(code="OK" if not errors else "FAILED", errors=errors[:3])
    else:
        result(code="BAD_CASE")
except grpc.RpcError as e:
    result(code=e.code().name, details=e.details())
