#!/usr/bin/env python3
"""grpcio's own health and reflection clients against our server. Prints one JSON
object. usage: services_client.py PORT CASE"""
import json
import sys

import grpc
from google.protobuf import descriptor_pool
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha.proto_reflection_descriptor_database import ProtoReflectionDescriptorDatabase

port, case = sys.argv[1], sys.argv[2]
channel = grpc.insecure_channel(f"127.0.0.1:{port}")
health = health_pb2_grpc.HealthStub(channel)
name = health_pb2.HealthCheckResponse.ServingStatus.Name
try:
    if case == "check":
        server = health.Check(health_pb2.HealthCheckRequest(service=""))
        svc = health.Check(health_pb2.HealthCheckRequest(service="backtest.v1.BacktestService"))
        print(json.dumps({"code": "OK", "server": name(server.status), "service": name(svc.status)}))
    elif case == "check_unknown":
        health.Check(health_pb2.HealthCheckRequest(service="no.such.Service"))
        print(json.dumps({"code": "OK"}))
    elif case == "watch":
        statuses = []
        for r in health.Watch(health_pb2.HealthCheckRequest(service="test.Watched"), timeout=120):
            statuses.append(name(r.status))
            if len(statuses) == 2:
                break
        print(json.dumps({"code": "OK", "statuses": statuses}))
    elif case == "reflection":
        db = ProtoReflectionDescriptorDatabase(channel)
        services = sorted(db.get_services())
        pool = descriptor_pool.DescriptorPool(db)
        svc = pool.FindServiceByName("backtest.v1.BacktestService")
        methods = [m.name for m in svc.methods]
        msg = pool.FindMessageTypeByName("backtest.v1.StartBacktestRequest")
        print(json.dumps({"code": "OK", "services": services, "methods": methods,
                          "start_fields": [f.name for f in msg.fields][:3],
                          "streaming": [m.name for m in svc.methods if m.server_streaming]}))
except grpc.RpcError as e:
    print(json.dumps({"code": e.code().name, "details": e.details()}))
