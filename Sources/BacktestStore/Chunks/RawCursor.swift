/// Writes fields through a raw pointer into space a ByteWriter reserved (`withTail`),
/// for encoders whose per-field calls would otherwise each check capacity.
struct RawCursor {
    let start: UnsafeMutableRawPointer
    var p: UnsafeMutableRawPointer

    init(_ start: UnsafeMutableRawPointer) {
        self.start = start
        p = start
    }

    var written: Int { p - start }

    @inline(__always)
    mutating func byte(_ value: UInt8) {
        p.storeBytes(of: value, as: UInt8.self)
        p += 1
    }

    @inline(__always)
    mutating func u64(_ value: UInt64) {
        p.storeBytes(of: value.littleEndian, as: UInt64.self)
        p += 8
    }

    @inline(__always)
    mutating func varint(_ value: UInt64) {
        var v = value
        while v >= 0x80 {
            byte(UInt8(truncatingIfNeeded: v) | 0x80)
            v >>= 7
        }
        byte(UInt8(truncatingIfNeeded: v))
    }

    @inline(__always)
    mutating func zigzag(_ value: Int64) {
        varint(UInt64(bitPattern: (value << 1) ^ (value >> 63)))
    }

    /// A varint byte length, then the string's UTF-8 bytes.
    @inline(__always)
    mutating func string(_ value: String) {
        var value = value
        value.withUTF8 { utf8 in
            varint(UInt64(utf8.count))
            if let base = utf8.baseAddress { p.copyMemory(from: base, byteCount: utf8.count) }
            p += utf8.count
        }
    }
}
