#!/usr/bin/env python3
"""The Python side of the wire-compatibility tests: Python's protobuf (stubs made by
grpcio-tools from proto/) builds the sample messages by the same fill rule as
Support/SampleRule.swift, writes their bytes for Swift to decode, and checks the
bytes Swift wrote.

usage: interop.py write STUB_DIR OUT_DIR   write <full name>.<variant>.bin per sample
       interop.py check STUB_DIR IN_DIR    parse each file, compare with the sample and
                                           with a deterministic re-encoding
"""
import importlib.util
import os
import sys

from google.protobuf import descriptor as D
from google.protobuf import descriptor_pool, message_factory

MAX_DEPTH = 3
FILES = ["backtest/v1/backtest", "grpc/health/v1/health", "grpc/reflection/v1/reflection",
         "grpc/reflection/v1alpha/reflection"]
WKT = ["google.protobuf.Timestamp", "google.protobuf.Duration"]
FD = D.FieldDescriptor


def load_stubs(stub_dir):
    names = list(WKT)
    for i, f in enumerate(FILES):
        path = os.path.join(stub_dir, f + "_pb2.py")
        # Loaded by path: the proto package "grpc" would collide with grpcio's module.
        spec = importlib.util.spec_from_file_location(f"stub{i}", path)
        mod = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(mod)
        fdesc = mod.DESCRIPTOR
        names += [m.full_name for m in fdesc.message_types_by_name.values()]
    return names


def scalar(f, n, v):
    v %= 3
    t = f.type
    if t in (FD.TYPE_INT32, FD.TYPE_SINT32, FD.TYPE_SFIXED32):
        return [-2147483648 + n, 2147483647 - n, -(n * 1000 + 7)][v]
    if t in (FD.TYPE_INT64, FD.TYPE_SINT64, FD.TYPE_SFIXED64):
        return [-9223372036854775808 + n, 9223372036854775807 - n, -(n * 100000 + 7)][v]
    if t in (FD.TYPE_UINT32, FD.TYPE_FIXED32):
        return [n, 4294967295 - n, n * 1000 + 7][v]
    if t in (FD.TYPE_UINT64, FD.TYPE_FIXED64):
        return [n, 18446744073709551615 - n, n * 100000 + 7][v]
    if t == FD.TYPE_DOUBLE:
        return [-sys.float_info.max, 5e-324 * n, -(n + 0.1)][v]
    if t == FD.TYPE_FLOAT:
        import struct
        tiny = struct.unpack("<f", struct.pack("<I", 1))[0]
        return [-3.4028234663852886e38, tiny * n, n + 0.5][v]
    if t == FD.TYPE_BOOL:
        return v != 2
    if t == FD.TYPE_STRING:
        return ["", f"field {n}: héllo ✓ 𝄞 \"quoted\" back\\slash\nnewline", f"s{n}"][v]
    if t == FD.TYPE_BYTES:
        return [b"", bytes([0, 255, n % 256, 128, 10]), bytes(range(n % 7 + 1))][v]
    if t == FD.TYPE_ENUM:
        values = sorted(x.number for x in f.enum_type.values)
        return [values[-1], values[min(1, len(values) - 1)], values[len(values) // 2]][v]
    raise ValueError(f"unsupported type {t}")


# Well-known types take valid values (their JSON form has none for the others); the
# same rule as SampleRule.timestamp and SampleRule.duration.
WKT_SAMPLES = {
    "google.protobuf.Timestamp": [(-62135596800, 0), (253402300799, 999999999), (-100007, 2007000)],
    "google.protobuf.Duration": [(-315576000000, -999999999), (315576000000, 999999999), (0, -250000000)],
}


def variants(desc):
    return max([3] + [len(o.fields) for o in desc.oneofs])


def sample(desc, v, depth):
    m = message_factory.GetMessageClass(desc)()
    if desc.full_name in WKT_SAMPLES:
        m.seconds, m.nanos = WKT_SAMPLES[desc.full_name][v % 3]
        return m
    for f in desc.fields:
        if f.containing_oneof is not None:
            continue
        is_map = f.type == FD.TYPE_MESSAGE and f.message_type.GetOptions().map_entry
        if is_map:
            kf = f.message_type.fields_by_name["key"]
            vf = f.message_type.fields_by_name["value"]
            for w in [[], [1, 2], [2]][v % 3]:
                key = scalar(kf, 1, w)
                if vf.type == FD.TYPE_MESSAGE:
                    getattr(m, f.name)[key].MergeFrom(sample(vf.message_type, w, depth + 1))
                else:
                    getattr(m, f.name)[key] = scalar(vf, 2, w)
        elif f.is_repeated:
            for w in [[], [0, 1, 2], [2]][v % 3]:
                if f.type == FD.TYPE_MESSAGE:
                    getattr(m, f.name).add().MergeFrom(sample(f.message_type, w, depth + 1))
                else:
                    getattr(m, f.name).append(scalar(f, f.number, w))
        else:
            set_singular(m, f, v, depth)
    for o in desc.oneofs:
        set_singular(m, o.fields[v % len(o.fields)], v, depth)
    return m


def set_singular(m, f, v, depth):
    """A singular field, or the chosen member of a oneof (a message one is marked set
    even when empty, as the Swift side's non-nil value is)."""
    if f.type == FD.TYPE_MESSAGE:
        if depth < MAX_DEPTH:
            sub = getattr(m, f.name)
            sub.SetInParent()
            sub.MergeFrom(sample(f.message_type, v, depth + 1))
    else:
        setattr(m, f.name, scalar(f, f.number, v))


def main():
    mode, stub_dir, data_dir = sys.argv[1:4]
    names = load_stubs(stub_dir)
    pool = descriptor_pool.Default()
    failures = 0
    if mode == "write":
        os.makedirs(data_dir, exist_ok=True)
        for name in names:
            desc = pool.FindMessageTypeByName(name)
            for v in range(variants(desc)):
                with open(os.path.join(data_dir, f"{name}.{v}.bin"), "wb") as fh:
                    fh.write(sample(desc, v, 0).SerializeToString(deterministic=True))
        print(f"wrote {len(names)} message types")
    elif mode == "check":
        checked = 0
        for fname in sorted(os.listdir(data_dir)):
            name, v, _ = fname.rsplit(".", 2)
            desc = pool.FindMessageTypeByName(name)
            data = open(os.path.join(data_dir, fname), "rb").read()
            m = message_factory.GetMessageClass(desc)()
            try:
                m.ParseFromString(data)
            except Exception as e:  # noqa: BLE001 - report every failure, keep going
                print(f"FAIL {fname}: Python cannot parse Swift's bytes: {e}")
                failures += 1
                continue
            expected = sample(desc, int(v), 0)
            if m != expected:
                print(f"FAIL {fname}: decoded value differs from the sample\n--- got\n{m}\n--- expected\n{expected}")
                failures += 1
            if m.SerializeToString(deterministic=True) != data:
                print(f"FAIL {fname}: Swift's bytes are not the canonical encoding")
                failures += 1
            checked += 1
        print(f"checked {checked} files, {failures} failures")
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
