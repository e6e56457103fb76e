/// Base64 for `-bin` metadata (gRPC emits it unpadded and accepts both forms) and for
/// protobuf's JSON `bytes` (padded out; either alphabet in).
public enum Base64 {
    private static let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)

    private static let reverse: [UInt8] = {
        var table = [UInt8](repeating: 0xFF, count: 256)
        for (i, c) in alphabet.enumerated() { table[Int(c)] = UInt8(i) }
        return table
    }()

    /// The standard and the URL-safe alphabet together.
    private static let reverseEither: [UInt8] = {
        var table = reverse
        table[Int(UInt8(ascii: "-"))] = 62
        table[Int(UInt8(ascii: "_"))] = 63
        return table
    }()

    public static func encode(_ bytes: [UInt8], padded: Bool) -> String {
        var out: [UInt8] = []
        out.reserveCapacity((bytes.count + 2) / 3 * 4)
        var i = 0
        while i + 3 <= bytes.count {
            let n = UInt32(bytes[i]) << 16 | UInt32(bytes[i + 1]) << 8 | UInt32(bytes[i + 2])
            out += [
                alphabet[Int(n >> 18 & 63)], alphabet[Int(n >> 12 & 63)], alphabet[Int(n >> 6 & 63)],
                alphabet[Int(n & 63)],
            ]
            i += 3
        }
        let rest = bytes.count - i
        if rest == 1 {
            let n = UInt32(bytes[i]) << 16
            out += [alphabet[Int(n >> 18 & 63)], alphabet[Int(n >> 12 & 63)]]
            if padded { out += [0x3D, 0x3D] }
        } else if rest == 2 {
            let n = UInt32(bytes[i]) << 16 | UInt32(bytes[i + 1]) << 8
            out += [alphabet[Int(n >> 18 & 63)], alphabet[Int(n >> 12 & 63)], alphabet[Int(n >> 6 & 63)]]
            if padded { out.append(0x3D) }
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// nil when `text` is not base64, padded or not: a foreign character, a wrong
    /// length, or padding anywhere but the end of a whole group (at most two). Unused
    /// low bits are ignored, as other decoders do. `urlSafe` accepts `-` and `_` too.
    public static func decode(_ text: String, urlSafe: Bool = false) -> [UInt8]? {
        var chars = Array(text.utf8)
        if chars.count % 4 == 0, chars.count >= 4, chars[chars.count - 1] == 0x3D {
            chars.removeLast()
            if chars[chars.count - 1] == 0x3D { chars.removeLast() }
        }
        if chars.count % 4 == 1 { return nil }
        let table = urlSafe ? reverseEither : reverse
        var out: [UInt8] = []
        out.reserveCapacity(chars.count * 3 / 4)
        var acc: UInt32 = 0, bits = 0
        for c in chars {
            let v = table[Int(c)]
            if v == 0xFF { return nil }
            acc = acc << 6 | UInt32(v)
            bits += 6
            if bits >= 8 {
                bits -= 8
                out.append(UInt8(truncatingIfNeeded: acc >> UInt32(bits)))
            }
        }
        return out
    }
}
