/// Appends little-endian fixed-width values and LEB128 varints to a growable buffer.
/// Chunk encoders write hundreds of thousands of small fields per call, so it writes
/// through a raw pointer into reserved space instead of appending byte by byte.
struct ByteWriter {
    private(set) var bytes: [UInt8]
    private(set) var count = 0

    init(capacity: Int) {
        bytes = [UInt8](repeating: 0, count: max(64, capacity))
    }

    /// Makes room for at least `extra` more bytes (plus 8 of slack for word stores).
    @inline(__always)
    mutating func reserve(_ extra: Int) {
        let need = count + extra + 8
        if need > bytes.count {
            bytes.append(contentsOf: repeatElement(0, count: max(need, bytes.count * 2) - bytes.count))
        }
    }

    @inline(__always)
    mutating func byte(_ value: UInt8) {
        reserve(1)
        bytes[count] = value
        count += 1
    }

    @inline(__always)
    mutating func u64(_ value: UInt64) {
        reserve(8)
        let at = count
        bytes.withUnsafeMutableBytes { $0.storeBytes(of: value.littleEndian, toByteOffset: at, as: UInt64.self) }
        count += 8
    }

    /// The low `k` bytes of `value` (1...8), little-endian.
    @inline(__always)
    mutating func low(_ value: UInt64, bytes k: Int) {
        reserve(8)
        let at = count
        bytes.withUnsafeMutableBytes { $0.storeBytes(of: value.littleEndian, toByteOffset: at, as: UInt64.self) }
        count += k
    }

    @inline(__always)
    mutating func varint(_ value: UInt64) {
        reserve(10)
        var v = value
        let at = count
        var n = 0
        bytes.withUnsafeMutableBufferPointer { b in
            while v >= 0x80 {
                b[at + n] = UInt8(truncatingIfNeeded: v) | 0x80
                v >>= 7
                n += 1
            }
            b[at + n] = UInt8(truncatingIfNeeded: v)
        }
        count += n + 1
    }

    @inline(__always)
    mutating func zigzag(_ value: Int64) {
        varint(UInt64(bitPattern: (value << 1) ^ (value >> 63)))
    }

    mutating func append(_ other: UnsafeRawBufferPointer) {
        reserve(other.count)
        let at = count
        bytes.withUnsafeMutableBytes {
            UnsafeMutableRawBufferPointer(rebasing: $0[at..<at + other.count]).copyMemory(from: other)
        }
        count += other.count
    }

    mutating func string(_ value: String) {
        var value = value
        value.withUTF8 { utf8 in
            varint(UInt64(utf8.count))
            append(UnsafeRawBufferPointer(utf8))
        }
    }

    /// Lets `body` write up to `capacity` bytes in place; it returns how many it wrote.
    @inline(__always)
    mutating func withTail(capacity: Int, _ body: (UnsafeMutableRawPointer) -> Int) {
        reserve(capacity)
        let at = count
        count += bytes.withUnsafeMutableBytes { body($0.baseAddress! + at) }
    }

    /// Overwrites one byte already written.
    mutating func set(_ value: UInt8, at offset: Int) { bytes[offset] = value }

    /// Forgets everything after `offset` (to retry a section in another encoding).
    mutating func truncate(to offset: Int) { count = offset }

    /// The written bytes.
    func finished() -> [UInt8] { Array(bytes[0..<count]) }
}

/// Reads what ByteWriter wrote; every read is bounds-checked, a short or malformed blob
/// throws instead of reading past its end.
struct ByteReader {
    let base: UnsafeRawBufferPointer
    var offset = 0

    init(_ base: UnsafeRawBufferPointer) { self.base = base }

    var remaining: Int { base.count - offset }

    static func corrupt(_ what: String) -> StoreError { StoreError.failed("corrupt chunk: \(what)") }

    @inline(__always)
    mutating func byte() throws(StoreError) -> UInt8 {
        guard offset < base.count else { throw Self.corrupt("truncated") }
        defer { offset += 1 }
        return base[offset]
    }

    @inline(__always)
    mutating func u64() throws(StoreError) -> UInt64 {
        guard remaining >= 8 else { throw Self.corrupt("truncated") }
        defer { offset += 8 }
        return UInt64(littleEndian: base.loadUnaligned(fromByteOffset: offset, as: UInt64.self))
    }

    /// `k` (1...8) little-endian bytes as the low bytes of a UInt64.
    @inline(__always)
    mutating func low(bytes k: Int) throws(StoreError) -> UInt64 {
        guard remaining >= k else { throw Self.corrupt("truncated") }
        defer { offset += k }
        if remaining >= 8 {
            let word = UInt64(littleEndian: base.loadUnaligned(fromByteOffset: offset, as: UInt64.self))
            return k == 8 ? word : word & ((1 << UInt64(8 * k)) - 1)
        }
        var value: UInt64 = 0
        for i in 0..<k { value |= UInt64(base[offset + i]) << UInt64(8 * i) }
        return value
    }

    @inline(__always)
    mutating func varint() throws(StoreError) -> UInt64 {
        var value: UInt64 = 0
        var shift: UInt64 = 0
        while true {
            guard offset < base.count, shift < 64 else { throw Self.corrupt("bad varint") }
            let b = base[offset]
            offset += 1
            value |= UInt64(b & 0x7f) << shift
            if b < 0x80 { return value }
            shift += 7
        }
    }

    @inline(__always)
    mutating func zigzag() throws(StoreError) -> Int64 {
        let v = try varint()
        return Int64(bitPattern: v >> 1) ^ -Int64(bitPattern: v & 1)
    }

    /// A count that must fit in what is left (guards allocations sized by blob content).
    mutating func count(max limit: Int) throws(StoreError) -> Int {
        let v = try varint()
        guard v <= UInt64(limit) else { throw Self.corrupt("count \(v) above \(limit)") }
        return Int(v)
    }

    mutating func bytes(_ n: Int) throws(StoreError) -> UnsafeRawBufferPointer {
        guard n >= 0, remaining >= n else { throw Self.corrupt("truncated") }
        defer { offset += n }
        return UnsafeRawBufferPointer(rebasing: base[offset..<offset + n])
    }

    mutating func string() throws(StoreError) -> String {
        let n = try count(max: remaining)
        return String(decoding: try bytes(n), as: UTF8.self)
    }
}
