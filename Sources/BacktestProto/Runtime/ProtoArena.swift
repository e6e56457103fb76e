internal import BacktestProtoC

/// A bump allocator for the C structs, strings and arrays one encode needs.
///
/// Encoding builds a protobuf-c struct tree that must outlive the pack call and then
/// be freed at once; one arena per encode makes that a few mallocs instead of one per
/// string or element, and frees everything in `deinit`.
final class ProtoArena {
    private var chunks: [UnsafeMutableRawPointer] = []
    private var cursor: UnsafeMutableRawPointer?
    private var remaining = 0
    private static let chunkSize = 4096

    init() {}

    deinit {
        for chunk in chunks { chunk.deallocate() }
    }

    /// Uninitialised, suitably aligned memory for `byteCount` bytes.
    func allocateRaw(byteCount: Int, alignment: Int) -> UnsafeMutableRawPointer {
        if let cursor {
            let padding = (alignment - Int(bitPattern: cursor) & (alignment - 1)) & (alignment - 1)
            if padding + byteCount <= remaining {
                let p = cursor + padding
                self.cursor = p + byteCount
                remaining -= padding + byteCount
                return p
            }
        }
        let size = max(Self.chunkSize, byteCount + alignment)
        let chunk = UnsafeMutableRawPointer.allocate(byteCount: size, alignment: 16)
        chunks.append(chunk)
        let padding = (alignment - Int(bitPattern: chunk) & (alignment - 1)) & (alignment - 1)
        let p = chunk + padding
        cursor = p + byteCount
        remaining = size - padding - byteCount
        return p
    }

    /// Uninitialised memory for one `T`; the caller initialises it (protobuf-c `__init`).
    func allocate<T>(_ type: T.Type) -> UnsafeMutablePointer<T> {
        allocateRaw(byteCount: MemoryLayout<T>.stride, alignment: MemoryLayout<T>.alignment)
            .bindMemory(to: T.self, capacity: 1)
    }

    /// A copy of `values`, or nil when empty.
    func array<T>(_ values: [T]) -> UnsafeMutablePointer<T>? {
        guard !values.isEmpty else { return nil }
        let p = allocateRaw(byteCount: MemoryLayout<T>.stride * values.count, alignment: MemoryLayout<T>.alignment)
            .bindMemory(to: T.self, capacity: values.count)
        _ = UnsafeMutableBufferPointer(start: p, count: values.count).initialize(from: values)
        return p
    }

    /// An array of `count` null pointers to `T`, for repeated message fields.
    func pointerArray<T>(_ type: T.Type, count: Int) -> UnsafeMutablePointer<UnsafeMutablePointer<T>?> {
        let p = allocateRaw(
            byteCount: MemoryLayout<UnsafeMutablePointer<T>?>.stride * max(count, 1),
            alignment: MemoryLayout<UnsafeMutablePointer<T>?>.alignment
        ).bindMemory(to: UnsafeMutablePointer<T>?.self, capacity: max(count, 1))
        p.initialize(repeating: nil, count: max(count, 1))
        return p
    }

    /// A NUL-terminated UTF-8 copy of `string`.
    func cString(_ string: String, field: @autoclosure () -> String) throws -> UnsafeMutablePointer<CChar> {
        var s = string
        return try s.withUTF8 { utf8 in
            if utf8.contains(0) { throw ProtoError.stringContainsNUL(field: field()) }
            let p = allocateRaw(byteCount: utf8.count + 1, alignment: 1)
            if let base = utf8.baseAddress { p.copyMemory(from: base, byteCount: utf8.count) }
            p.storeBytes(of: 0, toByteOffset: utf8.count, as: UInt8.self)
            return p.bindMemory(to: CChar.self, capacity: utf8.count + 1)
        }
    }

    /// C strings for a repeated string field.
    func cStrings(_ strings: [String], field: @autoclosure () -> String) throws -> UnsafeMutablePointer<
        UnsafeMutablePointer<CChar>?
    > {
        let p = pointerArray(CChar.self, count: strings.count)
        for (i, s) in strings.enumerated() { p[i] = try cString(s, field: field()) }
        return p
    }

    /// protobuf-c's view of a bytes value, pointing at a copy in the arena.
    func binary(_ bytes: [UInt8]) -> ProtobufCBinaryData {
        ProtobufCBinaryData(len: bytes.count, data: array(bytes))
    }

    /// A C struct for a nested message, initialised and filled.
    func message<M: CMessageConvertible>(_ value: M) throws -> UnsafeMutablePointer<M.CMessage> {
        let c = allocate(M.CMessage.self)
        M.cInit(c)
        try value.fill(c, self)
        return c
    }

    /// C structs for a repeated message field.
    func messages<M: CMessageConvertible>(_ values: [M]) throws -> UnsafeMutablePointer<
        UnsafeMutablePointer<M.CMessage>?
    > {
        let p = pointerArray(M.CMessage.self, count: values.count)
        for (i, v) in values.enumerated() { p[i] = try message(v) }
        return p
    }
}
