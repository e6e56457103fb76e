#!/usr/bin/env python3
"""Generates the Swift message layer over protobuf-c from a descriptor set.

For every message in the given proto files it writes a Swift value type, the code
that converts it to and from protobuf-c's generated C struct, (for top-level
messages) `ProtoMessage` conformance, and the proto3 JSON mapping
(`ProtoJSONMessage`; every enum gets `ProtoEnum`, its value names). For every
service it writes the method descriptors and their message types
(`<Service>Methods`) and a typed client over `RPCClient` (`<Service>Client`). It
also writes the sample values the interop tests use (the same fill rule as
Tests/BacktestProtoTests/Interop/interop.py).

usage: gen_swift_messages.py DESCRIPTOR_SET OUT_SOURCES_DIR OUT_SAMPLES_FILE FILE.proto...
The descriptor set must include source info (for doc comments) and imports.
"""
import sys
from google.protobuf import descriptor_pb2 as d

F = d.FieldDescriptorProto

# Swift namespaces per proto package; "" = top level of the module.
NAMESPACES = {
    "backtest.v1": "",
    "google.protobuf": "",
    "grpc.health.v1": "GRPCHealthV1",
    "grpc.reflection.v1": "GRPCReflectionV1",
    "grpc.reflection.v1alpha": "GRPCReflectionV1Alpha",
}

SWIFT_KEYWORDS = {
    "associatedtype", "class", "deinit", "enum", "extension", "fileprivate", "func",
    "import", "init", "inout", "internal", "let", "open", "operator", "private",
    "precedencegroup", "protocol", "public", "rethrows", "static", "struct",
    "subscript", "typealias", "var", "break", "case", "catch", "continue", "default",
    "defer", "do", "else", "fallthrough", "for", "guard", "if", "in", "repeat",
    "return", "throw", "switch", "where", "while", "Any", "as", "await", "false",
    "is", "nil", "self", "Self", "super", "throws", "true", "try", "Type",
}

SCALAR_SWIFT = {
    F.TYPE_DOUBLE: "Double", F.TYPE_FLOAT: "Float",
    F.TYPE_INT64: "Int64", F.TYPE_SINT64: "Int64", F.TYPE_SFIXED64: "Int64",
    F.TYPE_UINT64: "UInt64", F.TYPE_FIXED64: "UInt64",
    F.TYPE_INT32: "Int32", F.TYPE_SINT32: "Int32", F.TYPE_SFIXED32: "Int32",
    F.TYPE_UINT32: "UInt32", F.TYPE_FIXED32: "UInt32",
    F.TYPE_BOOL: "Bool", F.TYPE_STRING: "String", F.TYPE_BYTES: "[UInt8]",
}

SAMPLE_FN = {
    F.TYPE_DOUBLE: "double", F.TYPE_FLOAT: "float",
    F.TYPE_INT64: "int64", F.TYPE_SINT64: "int64", F.TYPE_SFIXED64: "int64",
    F.TYPE_UINT64: "uint64", F.TYPE_FIXED64: "uint64",
    F.TYPE_INT32: "int32", F.TYPE_SINT32: "int32", F.TYPE_SFIXED32: "int32",
    F.TYPE_UINT32: "uint32", F.TYPE_FIXED32: "uint32",
    F.TYPE_BOOL: "bool", F.TYPE_STRING: "string", F.TYPE_BYTES: "bytes",
}


def camel_to_lower(name):
    """protoc-c's CamelToLower: an underscore before each upper-case run."""
    out, was_upper = "", True
    for ch in name:
        is_upper = ch.isupper()
        if is_upper:
            if not was_upper:
                out += "_"
            out += ch.lower()
        else:
            out += ch
        was_upper = is_upper
    return out


ACRONYMS = {"id": "ID", "url": "URL", "ids": "IDs"}


def lower_camel(snake):
    """session_id -> sessionID: Swift's API guidelines case acronyms uniformly."""
    parts = snake.split("_")
    s = parts[0] + "".join(ACRONYMS.get(p, p[:1].upper() + p[1:]) for p in parts[1:])
    return s


def ident(name):
    return f"`{name}`" if name in SWIFT_KEYWORDS else name


def upper_snake(camel):
    return camel_to_lower(camel).upper()


class Msg:
    def __init__(self, desc, package, parents, path, file):
        self.desc, self.package, self.parents, self.path, self.file = desc, package, parents, path, file
        self.name = desc.name
        self.full = ".".join([package] + parents + [desc.name])
        self.is_map_entry = desc.options.map_entry
        self.top_level = not parents

    @property
    def c_type(self):
        pkg = "__".join(p[:1].upper() + p[1:] for p in self.package.split("."))
        return "__".join([pkg] + self.parents + [self.name])

    @property
    def c_lower(self):
        pkg = "__".join(self.package.split("."))
        return "__".join([pkg] + [camel_to_lower(p) for p in self.parents + [self.name]])


class Enum:
    def __init__(self, desc, package, parents, path, file):
        self.desc, self.package, self.parents, self.path, self.file = desc, package, parents, path, file
        self.full = ".".join([package] + parents + [desc.name])
        self.values = sorted(((v.number, v.name) for v in desc.value), key=lambda x: x[0])
        prefix = upper_snake(desc.name) + "_"
        self.cases = []
        for number, vname in self.values:
            short = vname[len(prefix):] if vname.startswith(prefix) else vname
            self.cases.append((lower_camel(short.lower()), number))


class Registry:
    def __init__(self, fds):
        self.messages, self.enums, self.comments = {}, {}, {}
        for f in fds.file:
            for loc in f.source_code_info.location:
                # Well-known types keep their docs upstream; ours are in the runtime.
                if loc.leading_comments and f.package != "google.protobuf":
                    self.comments[(f.name, tuple(loc.path))] = loc.leading_comments
            for i, m in enumerate(f.message_type):
                self._walk(m, f.package, [], [4, i], f.name)
            for i, e in enumerate(f.enum_type):
                en = Enum(e, f.package, [], [5, i], f.name)
                self.enums[en.full] = en

    def _walk(self, m, package, parents, path, file):
        msg = Msg(m, package, parents, path, file)
        self.messages[msg.full] = msg
        for i, n in enumerate(m.nested_type):
            self._walk(n, package, parents + [m.name], path + [3, i], file)
        for i, e in enumerate(m.enum_type):
            en = Enum(e, package, parents + [m.name], path + [4, i], file)
            self.enums[en.full] = en

    def swift_name(self, full, relative_to_ns=True):
        obj = self.messages.get(full) or self.enums.get(full)
        ns = NAMESPACES[obj.package]
        local = ".".join(obj.parents + [obj.desc.name])
        if obj.package == "google.protobuf":
            # ProtoTimestamp, ProtoDuration: plain names would shadow Swift.Duration.
            local = "Proto" + local
        return f"{ns}.{local}" if ns else local

    def doc(self, file, path, indent):
        text = self.comments.get((file, tuple(path)))
        if not text:
            return ""
        lines = text.rstrip("\n").split("\n")
        return "".join(f"{indent}///{(' ' + l.strip()) if l.strip() else ''}\n" for l in lines)


class Field:
    def __init__(self, reg, msg, fd, index):
        self.reg, self.msg, self.fd, self.index = reg, msg, fd, index
        self.cname = fd.name
        self.swift = ident(lower_camel(fd.name))
        self.number = fd.number
        self.repeated = fd.label == F.LABEL_REPEATED
        self.type = fd.type
        self.map_entry = None
        if self.type == F.TYPE_MESSAGE:
            target = reg.messages[fd.type_name.lstrip(".")]
            if target.is_map_entry:
                self.map_entry = target
        self.oneof = fd.oneof_index if fd.HasField("oneof_index") else None
        self.label = f"{msg.full}.{fd.name}"

    def element_swift(self, fd=None):
        fd = fd or self.fd
        if fd.type == F.TYPE_MESSAGE or fd.type == F.TYPE_ENUM:
            return self.reg.swift_name(fd.type_name.lstrip("."))
        return SCALAR_SWIFT[fd.type]

    def swift_type(self):
        if self.map_entry:
            k, v = self.map_entry.desc.field
            return f"[{self.element_swift(k)}: {self.element_swift(v)}]"
        if self.repeated:
            return f"[{self.element_swift()}]"
        if self.type == F.TYPE_MESSAGE:
            return f"{self.element_swift()}?"
        return self.element_swift()

    def default(self):
        if self.map_entry:
            return "[:]"
        if self.repeated:
            return "[]"
        t = self.type
        if t == F.TYPE_MESSAGE:
            return "nil"
        if t == F.TYPE_ENUM:
            en = self.reg.enums[self.fd.type_name.lstrip(".")]
            return "." + ident(en.cases[0][0]) if en.values[0][0] == 0 else f".init(rawValue: 0)!"
        if t == F.TYPE_STRING:
            return '""'
        if t == F.TYPE_BYTES:
            return "[]"
        if t == F.TYPE_BOOL:
            return "false"
        return "0"


# ---- decode/encode expressions for one value -------------------------------------

def decode_value(reg, fd, expr, label):
    """Swift expression turning the C value `expr` of field fd into its Swift value."""
    t = fd.type
    if t == F.TYPE_STRING:
        return f'try ProtoRuntime.string({expr}, field: "{label}")'
    if t == F.TYPE_BYTES:
        return f"ProtoRuntime.bytes({expr})"
    if t == F.TYPE_BOOL:
        return f"({expr} != 0)"
    if t == F.TYPE_ENUM:
        return f'try ProtoRuntime.enumValue(Int32(truncatingIfNeeded: {expr}.rawValue), field: "{label}")'
    if t == F.TYPE_MESSAGE:
        sw = reg.swift_name(fd.type_name.lstrip("."))
        return f'try {sw}(c: ProtoRuntime.nonNull({expr}, field: "{label}"))'
    return expr


def encode_value(reg, fd, value, label):
    """Swift expression turning the Swift value `value` of field fd into its C value."""
    t = fd.type
    if t == F.TYPE_STRING:
        return f'try arena.cString({value}, field: "{label}")'
    if t == F.TYPE_BYTES:
        return f"arena.binary({value})"
    if t == F.TYPE_BOOL:
        return f"({value} ? 1 : 0)"
    if t == F.TYPE_ENUM:
        return f".init(rawValue: .init(truncatingIfNeeded: {value}.rawValue))"
    if t == F.TYPE_MESSAGE:
        return f"try arena.message({value})"
    return value


def gen_enum(reg, en, indent):
    name = en.desc.name
    out = reg.doc(en.file, en.path, indent)
    out += f"{indent}public enum {name}: Int32, Sendable, CaseIterable {{\n"
    for i, ((case, number), (_, vname)) in enumerate(zip(en.cases, en.values)):
        out += reg.doc(en.file, en.path + [2, i], indent + "    ")
        out += f"{indent}    case {ident(case)} = {number}\n"
    out += f"{indent}}}\n"
    return out


def gen_struct(reg, msg, indent):
    m = msg.desc
    fields = [Field(reg, msg, fd, i) for i, fd in enumerate(m.field)]
    plain = [f for f in fields if f.oneof is None]
    oneofs = []
    for oi, od in enumerate(m.oneof_decl):
        members = [f for f in fields if f.oneof == oi]
        oneofs.append((od.name, members))
    out = reg.doc(msg.file, msg.path, indent)
    out += f"{indent}public struct {reg.swift_name(msg.full).split('.')[-1]}: Sendable, Equatable {{\n"
    for f in plain:
        out += reg.doc(msg.file, msg.path + [2, f.index], indent + "    ")
        out += f"{indent}    public var {f.swift}: {f.swift_type()} = {f.default()}\n"
    for oname, members in oneofs:
        tname = lower_camel(oname)
        tname = tname[:1].upper() + tname[1:]
        out += f"{indent}    /// The `{oname}` oneof: at most one of these is set.\n"
        out += f"{indent}    public enum {tname}: Sendable, Equatable {{\n"
        for f in members:
            out += reg.doc(msg.file, msg.path + [2, f.index], indent + "        ")
            out += f"{indent}        case {f.swift}({f.element_swift()})\n"
        out += f"{indent}    }}\n"
        out += f"{indent}    public var {ident(lower_camel(oname))}: {tname}? = nil\n"
    # Public memberwise initialiser with defaults (Swift's synthesised one is internal).
    params = [f"{f.swift}: {f.swift_type()} = {f.default()}" for f in plain]
    for oname, _ in oneofs:
        tname = lower_camel(oname)
        params.append(f"{ident(tname)}: {tname[:1].upper() + tname[1:]}? = nil")
    if params:
        out += f"\n{indent}    public init(\n"
        out += ",\n".join(f"{indent}        {p}" for p in params)
        out += f"\n{indent}    ) {{\n"
    else:
        out += f"\n{indent}    public init() {{\n"
    for f in plain:
        out += f"{indent}        self.{f.swift} = {f.swift}\n"
    for oname, _ in oneofs:
        n = ident(lower_camel(oname))
        out += f"{indent}        self.{n} = {n}\n"
    out += f"{indent}    }}\n"
    nested_enums = [reg.enums[f"{msg.full}.{e.name}"] for e in m.enum_type]
    for en in nested_enums:
        out += "\n" + gen_enum(reg, en, indent + "    ")
    for n in m.nested_type:
        nm = reg.messages[f"{msg.full}.{n.name}"]
        if not nm.is_map_entry:
            out += "\n" + gen_struct(reg, nm, indent + "    ")
    out += f"{indent}}}\n"
    return out


def gen_conversion(reg, msg):
    """The internal CMessageConvertible (and public ProtoMessage) conformance."""
    m = msg.desc
    sw = reg.swift_name(msg.full)
    fields = [Field(reg, msg, fd, i) for i, fd in enumerate(m.field)]
    out = f"extension {sw}: CMessageConvertible {{\n"
    out += f"    typealias CMessage = {msg.c_type}\n\n"
    out += f"    static func cInit(_ c: UnsafeMutablePointer<CMessage>) {{ {msg.c_lower}__init(c) }}\n\n"
    # decode
    out += "    init(c: UnsafePointer<CMessage>) throws {\n"
    out += "        self.init()\n"
    for f in fields:
        if f.oneof is not None:
            continue
        src = f"c.pointee.{f.cname}"
        if f.map_entry:
            k, v = f.map_entry.desc.field
            out += f"        for entry in try ProtoRuntime.messages(c.pointee.{f.cname}, c.pointee.n_{f.cname}, field: \"{f.label}\") {{\n"
            out += f"            self.{f.swift}[{decode_value(reg, k, 'entry.pointee.key', f.label + '.key')}] = {decode_value(reg, v, 'entry.pointee.value', f.label + '.value')}\n"
            out += "        }\n"
        elif f.repeated:
            t = f.type
            if t in (F.TYPE_STRING, F.TYPE_BYTES, F.TYPE_ENUM, F.TYPE_BOOL):
                conv = decode_value(reg, f.fd, '$0', f.label)
                tr = "try " if "try " in conv else ""
                out += f"        self.{f.swift} = {tr}ProtoRuntime.buffer({src}, c.pointee.n_{f.cname}).map {{ {conv} }}\n"
            elif t == F.TYPE_MESSAGE:
                out += f"        self.{f.swift} = try ProtoRuntime.messages({src}, c.pointee.n_{f.cname}, field: \"{f.label}\").map {{ {decode_value(reg, f.fd, '$0', f.label)} }}\n"
            else:
                out += f"        self.{f.swift} = Array(ProtoRuntime.buffer({src}, c.pointee.n_{f.cname}))\n"
        elif f.type == F.TYPE_MESSAGE:
            out += f"        if let p = {src} {{ self.{f.swift} = try {f.element_swift()}(c: p) }}\n"
        else:
            out += f"        self.{f.swift} = {decode_value(reg, f.fd, src, f.label)}\n"
    for oi, od in enumerate(m.oneof_decl):
        members = [f for f in fields if f.oneof == oi]
        on = ident(lower_camel(od.name))
        out += f"        switch c.pointee.{od.name}_case.rawValue {{\n"
        for f in members:
            out += f"        case {f.number}: self.{on} = .{f.swift}({decode_value(reg, f.fd, 'c.pointee.' + f.cname, f.label)})\n"
        out += f"        default: self.{on} = nil\n"
        out += "        }\n"
    out += "    }\n\n"
    # encode
    uses_arena = any(f.type in (F.TYPE_STRING, F.TYPE_BYTES, F.TYPE_MESSAGE) or f.repeated for f in fields)
    arena = "arena" if uses_arena else "_"
    out += f"    func fill(_ c: UnsafeMutablePointer<CMessage>, _ {arena}: ProtoArena) throws {{\n"
    for f in fields:
        if f.oneof is not None:
            continue
        dst = f"c.pointee.{f.cname}"
        if f.map_entry:
            k, v = f.map_entry.desc.field
            et = f.map_entry.c_type
            out += f"        if !{f.swift}.isEmpty {{\n"
            out += f"            let keys = {f.swift}.keys.sorted(by: ProtoRuntime.utf8Precedes)\n"
            out += f"            let entries = arena.pointerArray({et}.self, count: keys.count)\n"
            out += f"            for (i, key) in keys.enumerated() {{\n"
            out += f"                let e = arena.allocate({et}.self)\n"
            out += f"                {f.map_entry.c_lower}__init(e)\n"
            out += f"                e.pointee.key = {encode_value(reg, k, 'key', f.label + '.key')}\n"
            out += f"                e.pointee.value = {encode_value(reg, v, f'{f.swift}[key]!', f.label + '.value')}\n"
            out += f"                entries[i] = e\n"
            out += f"            }}\n"
            out += f"            c.pointee.n_{f.cname} = keys.count\n"
            out += f"            {dst} = entries\n"
            out += f"        }}\n"
        elif f.repeated:
            t = f.type
            if t == F.TYPE_MESSAGE:
                expr = f'try arena.messages({f.swift})'
            elif t == F.TYPE_STRING:
                expr = f'try arena.cStrings({f.swift}, field: "{f.label}")'
            elif t in (F.TYPE_BYTES, F.TYPE_ENUM, F.TYPE_BOOL):
                expr = f"arena.array({f.swift}.map {{ {encode_value(reg, f.fd, '$0', f.label)} }})"
            else:
                expr = f"arena.array({f.swift})"
            out += f"        if !{f.swift}.isEmpty {{\n"
            out += f"            c.pointee.n_{f.cname} = {f.swift}.count\n"
            out += f"            {dst} = {expr}\n"
            out += f"        }}\n"
        elif f.type == F.TYPE_MESSAGE:
            out += f"        if let v = {f.swift} {{ {dst} = {encode_value(reg, f.fd, 'v', f.label)} }}\n"
        elif f.type in (F.TYPE_STRING, F.TYPE_BYTES):
            # proto3: empty means unset; the C default already says so.
            out += f"        if !{f.swift}.isEmpty {{ {dst} = {encode_value(reg, f.fd, f.swift, f.label)} }}\n"
        else:
            out += f"        {dst} = {encode_value(reg, f.fd, f.swift, f.label)}\n"
    for oi, od in enumerate(m.oneof_decl):
        members = [f for f in fields if f.oneof == oi]
        on = ident(lower_camel(od.name))
        out += f"        switch {on} {{\n"
        for f in members:
            out += f"        case .{f.swift}(let v)?:\n"
            out += f"            c.pointee.{od.name}_case = .init(rawValue: {f.number})\n"
            out += f"            c.pointee.{f.cname} = {encode_value(reg, f.fd, 'v', f.label)}\n"
        out += "        case nil: break\n"
        out += "        }\n"
    out += "    }\n"
    out += "}\n"
    if msg.top_level:
        out += f"\nextension {sw}: CTopLevelMessage {{\n"
        out += f"    static func cUnpack(_ count: Int, _ bytes: UnsafePointer<UInt8>?) -> UnsafeMutablePointer<CMessage>? {{ {msg.c_lower}__unpack(nil, count, bytes) }}\n"
        out += f"    static func cFreeUnpacked(_ c: UnsafeMutablePointer<CMessage>) {{ {msg.c_lower}__free_unpacked(c, nil) }}\n"
        out += f"    static func cPackedSize(_ c: UnsafePointer<CMessage>) -> Int {{ {msg.c_lower}__get_packed_size(c) }}\n"
        out += f"    static func cPack(_ c: UnsafePointer<CMessage>, _ out: UnsafeMutablePointer<UInt8>?) -> Int {{ {msg.c_lower}__pack(c, out) }}\n"
        out += "}\n"
        out += f"\nextension {sw}: ProtoMessage {{\n"
        out += f"    public static let protoName = \"{msg.full}\"\n"
        out += f"    public init(serializedBytes bytes: UnsafeRawBufferPointer) throws {{ self = try ProtoRuntime.decode(bytes) }}\n"
        out += f"    public func serializedBytes() throws -> [UInt8] {{ try ProtoRuntime.encode(self) }}\n"
        out += "}\n"
    return out


# ---- proto3 JSON ---------------------------------------------------------------------

# Well-known types whose JSON form is hand-written in Sources/BacktestProto/WellKnown.
WKT_JSON = {"google.protobuf.Timestamp", "google.protobuf.Duration"}

JSON_SCALAR = {
    F.TYPE_DOUBLE: "double", F.TYPE_FLOAT: "float",
    F.TYPE_INT64: "int64", F.TYPE_SINT64: "int64", F.TYPE_SFIXED64: "int64",
    F.TYPE_UINT64: "uint64", F.TYPE_FIXED64: "uint64",
    F.TYPE_INT32: "int32", F.TYPE_SINT32: "int32", F.TYPE_SFIXED32: "int32",
    F.TYPE_UINT32: "uint32", F.TYPE_FIXED32: "uint32",
    F.TYPE_BOOL: "bool", F.TYPE_STRING: "string", F.TYPE_BYTES: "bytes",
}


def json_encode_value(reg, fd, value):
    """Swift expression: the JSONValue of one value of field fd."""
    if fd.type == F.TYPE_MESSAGE:
        return f"try {value}.protoJSON(options: options)"
    if fd.type == F.TYPE_ENUM:
        return f"ProtoJSON.enumValue({value}, options)"
    return f"ProtoJSON.{JSON_SCALAR[fd.type]}({value})"


def json_is_default(fd, value):
    """Swift condition: a value of a field without presence is its default."""
    t = fd.type
    if t in (F.TYPE_DOUBLE, F.TYPE_FLOAT):
        return f"{value}.bitPattern == 0"  # -0.0 is not the default: it is written
    if t == F.TYPE_BOOL:
        return f"!{value}"
    if t in (F.TYPE_STRING, F.TYPE_BYTES):
        return f"{value}.isEmpty"
    if t == F.TYPE_ENUM:
        return f"{value}.rawValue == 0"
    return f"{value} == 0"


def json_decode_value(reg, fd, value):
    """Swift expression decoding the JSONValue `value` for field fd (an enum's is optional)."""
    if fd.type == F.TYPE_MESSAGE:
        return f"try {reg.swift_name(fd.type_name.lstrip('.'))}(protoJSON: {value}, options: options)"
    if fd.type == F.TYPE_ENUM:
        return f"try ProtoJSON.enumValue({value}, {reg.swift_name(fd.type_name.lstrip('.'))}.self, options)"
    return f"try ProtoJSON.{JSON_SCALAR[fd.type]}({value})"


def check_json_supported(reg, fd, where):
    if fd.type == F.TYPE_GROUP:
        raise SystemExit(f"{where}: groups have no proto3 JSON mapping")
    if fd.type == F.TYPE_MESSAGE:
        name = fd.type_name.lstrip(".")
        if name.startswith("google.protobuf.") and name not in WKT_JSON:
            raise SystemExit(f"{where}: {name} needs its special JSON form, which the runtime does not have yet")


def gen_json(reg, msg):
    """ProtoJSONMessage conformance: the canonical proto3 JSON mapping of one message."""
    m = msg.desc
    sw = reg.swift_name(msg.full)
    fields = [Field(reg, msg, fd, i) for i, fd in enumerate(m.field)]
    for f in fields:
        check_json_supported(reg, f.fd, f.label)
    out = f"extension {sw}: ProtoJSONMessage {{\n"
    if not msg.top_level:
        out += f"    public static let protoName = \"{msg.full}\"\n\n"
    # encode
    label = "options" if fields else "options _"
    out += f"    public func protoJSON({label}: ProtoJSONEncodingOptions) throws -> JSONValue {{\n"
    if not fields:
        out += "        .object([])\n    }\n\n"
    else:
        out += "        var o = ProtoJSONObjectWriter(options)\n"
        for f in fields:
            if f.oneof is not None:
                continue
            names = f'"{f.cname}", "{f.fd.json_name}"'
            if f.map_entry:
                k, v = f.map_entry.desc.field
                out += f"        try o.field({names}, isDefault: {f.swift}.isEmpty) {{ try ProtoJSON.map({f.swift}) {{ {json_encode_value(reg, v, '$0')} }} }}\n"
            elif f.repeated:
                out += f"        try o.field({names}, isDefault: {f.swift}.isEmpty) {{ try ProtoJSON.array({f.swift}) {{ {json_encode_value(reg, f.fd, '$0')} }} }}\n"
            elif f.type == F.TYPE_MESSAGE:
                out += f"        if let v = {f.swift} {{ try o.present({names}) {{ {json_encode_value(reg, f.fd, 'v')} }} }}\n"
            else:
                out += f"        try o.field({names}, isDefault: {json_is_default(f.fd, f.swift)}) {{ {json_encode_value(reg, f.fd, f.swift)} }}\n"
        for oi, od in enumerate(m.oneof_decl):
            members = [f for f in fields if f.oneof == oi]
            on = ident(lower_camel(od.name))
            out += f"        switch {on} {{\n"
            for f in members:
                out += f"        case .{f.swift}(let v)?: try o.present(\"{f.cname}\", \"{f.fd.json_name}\") {{ {json_encode_value(reg, f.fd, 'v')} }}\n"
            out += "        case nil: break\n"
            out += "        }\n"
        out += "        return o.value\n"
        out += "    }\n\n"
    # decode
    out += f"    public init(protoJSON json: JSONValue, options: ProtoJSONDecodingOptions) throws {{\n"
    out += "        self.init()\n"
    out += f"        var r = try ProtoJSONObjectReader(json, \"{msg.full}\", options)\n"
    out += "        while let m = r.nextMember() {\n"
    if not fields:
        return out + "            try r.unknown(m)\n        }\n    }\n}\n"
    out += "            switch m.key {\n"
    for f in fields:
        keys = [f.fd.json_name] if f.fd.json_name == f.cname else [f.fd.json_name, f.cname]
        out += "            case " + ", ".join(f'"{k}"' for k in keys) + ":\n"
        head = f'{f.number}, "{f.cname}"'
        if f.oneof is not None:
            oname = m.oneof_decl[f.oneof].name
            on = ident(lower_camel(oname))
            dec = json_decode_value(reg, f.fd, "$0")
            call = f'try r.oneofField({head}, oneof: "{oname}", m, {{ {dec} }})'
            if f.type == F.TYPE_ENUM:
                out += f"                if let v = {call}, let e = v {{ {on} = .{f.swift}(e) }}\n"
            else:
                out += f"                if let v = {call} {{ {on} = .{f.swift}(v) }}\n"
            continue
        if f.map_entry:
            k, v = f.map_entry.desc.field
            dec = f"{{ json in try ProtoJSON.map(json) {{ {json_decode_value(reg, v, '$0')} }} }}"
            out += f"                if let v: {f.swift_type()} = try r.field({head}, m, {dec}) {{ {f.swift} = v }}\n"
        elif f.repeated:
            dec = f"{{ json in try ProtoJSON.array(json) {{ {json_decode_value(reg, f.fd, '$0')} }} }}"
            out += f"                if let v: {f.swift_type()} = try r.field({head}, m, {dec}) {{ {f.swift} = v }}\n"
        elif f.type == F.TYPE_ENUM:
            out += f"                if let v = try r.field({head}, m, {{ {json_decode_value(reg, f.fd, '$0')} }}), let e = v {{ {f.swift} = e }}\n"
        else:
            out += f"                if let v = try r.field({head}, m, {{ {json_decode_value(reg, f.fd, '$0')} }}) {{ {f.swift} = v }}\n"
    out += "            default:\n"
    out += "                try r.unknown(m)\n"
    out += "            }\n"
    out += "        }\n"
    out += "    }\n"
    out += "}\n"
    return out


def gen_enum_conformance(reg, en):
    """ProtoEnum conformance: the enum's proto name and its value names."""
    sw = reg.swift_name(en.full)
    prefix = upper_snake(en.desc.name) + "_"
    if not all(vname.startswith(prefix) for _, vname in en.values):
        prefix = ""
    out = f"extension {sw}: ProtoEnum {{\n"
    out += f"    public static let protoName = \"{en.full}\"\n"
    out += f"    public static let protoValuePrefix = \"{prefix}\"\n\n"
    out += "    public var protoValueName: String {\n"
    out += "        switch self {\n"
    for (case, _), (_, vname) in zip(en.cases, en.values):
        out += f"        case .{ident(case)}: \"{vname}\"\n"
    out += "        }\n"
    out += "    }\n"
    out += "}\n"
    return out


# ---- services --------------------------------------------------------------------------

def upper_first(s):
    return s[:1].upper() + s[1:]


def lower_first(s):
    return s[:1].lower() + s[1:]


def method_kind(md):
    if md.client_streaming and md.server_streaming:
        return "bidirectionalStreaming"
    if md.client_streaming:
        return "clientStreaming"
    if md.server_streaming:
        return "serverStreaming"
    return "unary"


def gen_service(reg, f, si, sd, indent):
    """The method descriptors of one service and its typed client over RPCClient."""
    full = f"{f.package}.{sd.name}" if f.package else sd.name
    ns = NAMESPACES[f.package]
    methods_type = f"{sd.name}Methods"
    methods_ref = f"{ns}.{methods_type}" if ns else methods_type
    doc = reg.doc(f.name, [6, si], indent)
    out = doc
    out += f"{indent}/// The methods of `{full}`, for routing and calling without spelling a path.\n"
    out += f"{indent}public enum {methods_type} {{\n"
    out += f"{indent}    public static let serviceName = \"{full}\"\n\n"
    for mi, md in enumerate(sd.method):
        out += reg.doc(f.name, [6, si, 2, mi], indent + "    ")
        out += f"{indent}    public static let {ident(lower_first(md.name))} = MethodDescriptor(service: serviceName, method: \"{md.name}\", kind: .{method_kind(md)})\n"
    out += f"\n{indent}    /// Every method, in the order of the proto.\n"
    out += f"{indent}    public static let all: [MethodDescriptor] = [{', '.join(ident(lower_first(md.name)) for md in sd.method)}]\n"
    out += f"\n{indent}    /// The request and response message types of every method.\n"
    out += f"{indent}    public static let messages: [MethodDescriptor: MethodMessages] = [\n"
    for md in sd.method:
        req = reg.swift_name(md.input_type.lstrip("."))
        res = reg.swift_name(md.output_type.lstrip("."))
        out += f"{indent}        {ident(lower_first(md.name))}: MethodMessages(request: {req}.self, response: {res}.self),\n"
    out += f"{indent}    ]\n"
    out += f"{indent}}}\n\n"
    out += doc
    out += f"{indent}/// Typed calls of `{full}` over any transport (an `RPCClient` carries the transport,\n"
    out += f"{indent}/// metadata and deadline). A non-OK status throws `RPCError`; so does a response\n"
    out += f"{indent}/// that does not decode (INTERNAL).\n"
    out += f"{indent}public struct {sd.name}Client: Sendable {{\n"
    out += f"{indent}    public let rpc: RPCClient\n\n"
    out += f"{indent}    public init(_ rpc: RPCClient) {{\n"
    out += f"{indent}        self.rpc = rpc\n"
    out += f"{indent}    }}\n"
    for mi, md in enumerate(sd.method):
        req = reg.swift_name(md.input_type.lstrip("."))
        res = reg.swift_name(md.output_type.lstrip("."))
        name = ident(lower_first(md.name))
        desc = f"{methods_ref}.{lower_first(md.name)}"
        kind = method_kind(md)
        out += "\n" + reg.doc(f.name, [6, si, 2, mi], indent + "    ")
        if kind == "unary":
            out += f"{indent}    public func {name}(_ request: {req}) async throws -> {res} {{\n"
            out += f"{indent}        try await rpc.unary({desc}, request)\n"
        elif kind == "serverStreaming":
            out += f"{indent}    public func {name}(_ request: {req}, each: ({res}) async throws -> Void) async throws {{\n"
            out += f"{indent}        try await rpc.serverStreaming({desc}, request, each: each)\n"
        elif kind == "clientStreaming":
            out += f"{indent}    public func {name}(produce: (_ send: ({req}) async throws -> Void) async throws -> Void) async throws -> {res} {{\n"
            out += f"{indent}        try await rpc.clientStreaming({desc}, produce: produce)\n"
        else:
            out += f"{indent}    public func {name}(produce: @escaping @Sendable (_ send: @Sendable ({req}) async throws -> Void) async throws -> Void,\n"
            out += f"{indent}        {' ' * len(name)}each: ({res}) async throws -> Void) async throws {{\n"
            out += f"{indent}        try await rpc.bidirectionalStreaming({desc}, produce: produce, each: each)\n"
        out += f"{indent}    }}\n"
    out += f"{indent}}}\n"
    return out


def sample_value(reg, fd, var, n_expr):
    t = fd.type
    if t == F.TYPE_MESSAGE:
        sw = reg.swift_name(fd.type_name.lstrip("."))
        return f"{sw}.sample({var}, depth: depth + 1)"
    if t == F.TYPE_ENUM:
        sw = reg.swift_name(fd.type_name.lstrip("."))
        return f"SampleRule.enumValue({sw}.self, {var})"
    return f"SampleRule.{SAMPLE_FN[t]}({n_expr}, {var})"


# Well-known types take valid values (their JSON form has none for the others): the
# same rule as interop.py's WKT_SAMPLES.
WKT_SAMPLE = {"google.protobuf.Timestamp": "timestamp", "google.protobuf.Duration": "duration"}


def gen_sample(reg, msg):
    m = msg.desc
    sw = reg.swift_name(msg.full)
    if msg.full in WKT_SAMPLE:
        return (f"extension {sw}: SampleFillable {{\n    static let sampleVariants = 3\n"
                f"    static func sample(_ v: Int, depth: Int) -> Self {{ SampleRule.{WKT_SAMPLE[msg.full]}(v) }}\n}}\n")
    fields = [Field(reg, msg, fd, i) for i, fd in enumerate(m.field)]
    variants = max([3] + [len([f for f in fields if f.oneof == oi]) for oi in range(len(m.oneof_decl))])
    out = f"extension {sw}: SampleFillable {{\n"
    out += f"    static let sampleVariants = {variants}\n"
    out += "    static func sample(_ v: Int, depth: Int) -> Self {\n"
    if not fields:
        return out + "        Self()\n    }\n}\n"
    out += "        var m = Self()\n"
    has_msg = False
    for f in fields:
        if f.oneof is not None:
            continue
        if f.map_entry:
            k, val = f.map_entry.desc.field
            out += f"        m.{f.swift} = SampleRule.map(v) {{ w in ({sample_value(reg, k, 'w', 1)}, {sample_value(reg, val, 'w', 2)}) }}\n"
            has_msg |= val.type == F.TYPE_MESSAGE
        elif f.repeated:
            out += f"        m.{f.swift} = SampleRule.repeated(v) {{ w in {sample_value(reg, f.fd, 'w', f.number)} }}\n"
            has_msg |= f.type == F.TYPE_MESSAGE
        elif f.type == F.TYPE_MESSAGE:
            out += f"        m.{f.swift} = depth < SampleRule.maxDepth ? {sample_value(reg, f.fd, 'v', f.number)} : nil\n"
        else:
            out += f"        m.{f.swift} = {sample_value(reg, f.fd, 'v', f.number)}\n"
    for oi, od in enumerate(m.oneof_decl):
        members = [f for f in fields if f.oneof == oi]
        on = ident(lower_camel(od.name))
        out += f"        switch v % {len(members)} {{\n"
        for i, f in enumerate(members):
            value = sample_value(reg, f.fd, "v", f.number)
            if f.type == F.TYPE_MESSAGE:
                out += f"        case {i}: m.{on} = depth < SampleRule.maxDepth ? .{f.swift}({value}) : nil\n"
            else:
                out += f"        case {i}: m.{on} = .{f.swift}({value})\n"
        out += f"        default: break\n"
        out += "        }\n"
    out += "        return m\n"
    out += "    }\n"
    out += "}\n"
    return out


HEADER = "// Generated by tools/gen_swift_messages.py from {src}. Do not edit.\n"


def main():
    ds_path, out_dir, samples_path, *files = sys.argv[1:]
    fds = d.FileDescriptorSet()
    with open(ds_path, "rb") as fh:
        fds.ParseFromString(fh.read())
    reg = Registry(fds)
    sample_parts = []
    sample_names = []
    for fname in files:
        f = next(x for x in fds.file if x.name == fname)
        ns = NAMESPACES[f.package]
        body = HEADER.format(src=fname)
        body += "// swiftlint:disable all\n\ninternal import BacktestProtoC\n"
        if f.service:
            body += "import RPC\n"
        body += "\n"
        if ns:
            body += f"/// Types of the `{f.package}` proto package.\npublic enum {ns} {{}}\n\n"
        decls = ""
        for i, e in enumerate(f.enum_type):
            decls += gen_enum(reg, reg.enums[f"{f.package}.{e.name}"], "    " if ns else "") + "\n"
        for m in f.message_type:
            decls += gen_struct(reg, reg.messages[f"{f.package}.{m.name}"], "    " if ns else "") + "\n"
        for si, sd in enumerate(f.service):
            decls += gen_service(reg, f, si, sd, "    " if ns else "") + "\n"
        if ns:
            body += f"extension {ns} {{\n{decls.rstrip()}\n}}\n\n"
        else:
            body += decls
        convs = []
        for msg in reg.messages.values():
            if msg.file == fname and not msg.is_map_entry:
                convs.append(gen_conversion(reg, msg))
                if msg.full not in WKT_JSON:
                    convs.append(gen_json(reg, msg))
                sample_parts.append(gen_sample(reg, msg))
                if msg.top_level:
                    sample_names.append(reg.swift_name(msg.full))
        for en in reg.enums.values():
            if en.file == fname:
                convs.append(gen_enum_conformance(reg, en))
        body += "\n".join(convs)
        out_name = fname[: -len(".proto")].replace("/", ".") + ".swift"
        with open(f"{out_dir}/{out_name}", "w") as fh:
            fh.write(body.rstrip() + "\n")
    samples = HEADER.format(src=", ".join(files))
    samples += "// swiftlint:disable all\n\n@testable import BacktestProto\n\n"
    samples += "/// Every top-level message type, for tests that cover them all.\n"
    samples += "let allSampleTypes: [any (ProtoMessage & ProtoJSONMessage & SampleFillable).Type] = [\n"
    samples += "".join(f"    {n}.self,\n" for n in sample_names)
    samples += "]\n\n"
    samples += "\n".join(sample_parts)
    with open(samples_path, "w") as fh:
        fh.write(samples)


if __name__ == "__main__":
    main()
