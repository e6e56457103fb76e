internal import BacktestProtoC

/// The conversions generated code calls; the only place that reads protobuf-c's
/// memory and the only place that frees what protobuf-c allocated.
enum ProtoRuntime {
    /// Decodes `bytes` with protobuf-c and converts the result; the C tree is freed
    /// before returning, whatever happens.
    static func decode<M: CTopLevelMessage & ProtoMessage>(_ bytes: UnsafeRawBufferPointer) throws -> M {
        let data = bytes.baseAddress?.assumingMemoryBound(to: UInt8.self)
        guard let c = M.cUnpack(bytes.count, data) else {
            throw ProtoError.malformed(message: M.protoName)
        }
        defer { M.cFreeUnpacked(c) }
        return try M(c: c)
    }

    /// Encodes `message` through a protobuf-c struct tree built in an arena.
    static func encode<M: CTopLevelMessage>(_ message: M) throws -> [UInt8] {
        let arena = ProtoArena()
        let c = try arena.message(message)
        let size = M.cPackedSize(c)
        // An empty message is the empty array: given capacity 0, the initializer writes
        // the count into the stdlib's shared empty-array storage, a write that
        // ThreadSanitizer reports as a race with every thread reading an empty array.
        guard size > 0 else { return [] }
        return [UInt8](unsafeUninitializedCapacity: size) { buffer, count in
            count = M.cPack(c, buffer.baseAddress)
        }
    }

    static func string(_ p: UnsafePointer<CChar>?, field: @autoclosure () -> String) throws -> String {
        guard let p else { return "" }
        guard let s = String(validatingCString: p) else { throw ProtoError.invalidUTF8(field: field()) }
        return s
    }

    static func bytes(_ b: ProtobufCBinaryData) -> [UInt8] {
        guard b.len > 0, let data = b.data else { return [] }
        return Array(UnsafeBufferPointer(start: data, count: b.len))
    }

    static func enumValue<E: RawRepresentable>(_ raw: Int32, field: @autoclosure () -> String) throws -> E
    where E.RawValue == Int32 {
        guard let e = E(rawValue: raw) else { throw ProtoError.invalidEnumValue(field: field(), value: raw) }
        return e
    }

    static func nonNull<T>(_ p: UnsafeMutablePointer<T>?, field: @autoclosure () -> String) throws -> UnsafePointer<T> {
        guard let p else { throw ProtoError.missingElement(field: field()) }
        return UnsafePointer(p)
    }

    /// The elements of a repeated scalar field.
    static func buffer<T>(_ p: UnsafeMutablePointer<T>?, _ count: Int) -> UnsafeBufferPointer<T> {
        guard let p, count > 0 else { return UnsafeBufferPointer(start: nil, count: 0) }
        return UnsafeBufferPointer(start: p, count: count)
    }

    /// The elements of a repeated message field, each checked for NULL.
    static func messages<T>(
        _ p: UnsafeMutablePointer<UnsafeMutablePointer<T>?>?, _ count: Int, field: @autoclosure () -> String
    ) throws -> [UnsafeMutablePointer<T>] {
        guard let p, count > 0 else { return [] }
        var out: [UnsafeMutablePointer<T>] = []
        out.reserveCapacity(count)
        for i in 0..<count {
            guard let e = p[i] else { throw ProtoError.missingElement(field: field()) }
            out.append(e)
        }
        return out
    }

    /// Map keys in UTF-8 byte order, the order deterministic protobuf encoders use.
    static func utf8Precedes(_ a: String, _ b: String) -> Bool {
        a.utf8.lexicographicallyPrecedes(b.utf8)
    }
}
