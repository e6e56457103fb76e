#!/usr/bin/env python3
"""The Python side of the proto3 JSON tests: Python's protobuf (google.protobuf.json_format,
on stubs grpcio-tools made from proto/) is the reference the Swift mapping is checked
against.

usage: json_interop.py STUB_DIR REQUESTS.jsonl RESULTS.jsonl

Each request line is one of
  {"op": "to_json", "type": FULL_NAME, "bytes": BASE64, "options": {...json_format options}}
      -> {"json": TEXT} (MessageToJson of the message those wire bytes hold)
  {"op": "parse", "type": FULL_NAME, "json": TEXT, "ignore_unknown": BOOL}
      -> {"bytes": BASE64} (json_format.Parse, then the deterministic wire bytes)
  {"op": "services"}
      -> {"methods": [[SERVICE, METHOD, CLIENT_STREAMING, SERVER_STREAMING, INPUT, OUTPUT], ...]}
         (every method in the descriptor set named by "descriptor_set")
and every answer is either that or {"error": MESSAGE}, on the line of its request.
"""
import base64
import json
import sys

from google.protobuf import descriptor_pb2, descriptor_pool, json_format, message_factory

sys.path.insert(0, __file__.rsplit("/", 1)[0])
from interop import load_stubs  # noqa: E402 - the same stubs as the wire tests


def answer(request, pool):
    op = request["op"]
    if op == "services":
        fds = descriptor_pb2.FileDescriptorSet()
        with open(request["descriptor_set"], "rb") as fh:
            fds.ParseFromString(fh.read())
        methods = []
        for f in fds.file:
            for s in f.service:
                full = f"{f.package}.{s.name}" if f.package else s.name
                for m in s.method:
                    methods.append([
                        full, m.name, m.client_streaming, m.server_streaming,
                        m.input_type.lstrip("."), m.output_type.lstrip("."),
                    ])
        return {"methods": methods}
    cls = message_factory.GetMessageClass(pool.FindMessageTypeByName(request["type"]))
    if op == "to_json":
        m = cls()
        m.ParseFromString(base64.b64decode(request["bytes"]))
        return {"json": json_format.MessageToJson(m, **request.get("options", {}))}
    if op == "parse":
        m = json_format.Parse(request["json"], cls(), ignore_unknown_fields=request.get("ignore_unknown", False))
        return {"bytes": base64.b64encode(m.SerializeToString(deterministic=True)).decode()}
    raise ValueError(f"unknown op {op}")


def main():
    stub_dir, requests_path, results_path = sys.argv[1:4]
    load_stubs(stub_dir)
    pool = descriptor_pool.Default()
    with open(requests_path, encoding="utf-8") as requests, open(results_path, "w", encoding="utf-8") as results:
        for line in requests:
            try:
                result = answer(json.loads(line), pool)
            except Exception as e:  # noqa: BLE001 - every failure is an answer the test reads
                result = {"error": f"{type(e).__name__}: {e}"}
            results.write(json.dumps(result) + "\n")


if __name__ == "__main__":
    main()
