import RPC

/// gRPC-Web (PROTOCOL-WEB.md), the protocol browsers can speak: gRPC's messages and
/// envelopes in an ordinary response body, with the trailers as a last envelope (flag
/// 0x80) instead of HTTP trailers, and in its `-text` form the whole body base64.
enum GRPCWeb {
    /// The trailers as the body's last envelope: flag 0x80, then HTTP/1-style header
    /// lines (`name: value\r\n`), names in lower case.
    static func trailerEnvelope(_ fields: [(String, String)]) -> [UInt8] {
        var block: [UInt8] = []
        for (name, value) in fields {
            block += Array(name.lowercased().utf8) + Array(": ".utf8) + Array(value.utf8) + [0x0D, 0x0A]
        }
        return MessageFramer.frame(block, flags: 0x80)
    }

    /// Bytes as `-text` sends them: base64, padded, each envelope on its own.
    static func text(_ bytes: [UInt8]) -> [UInt8] {
        Array(Base64.encode(bytes, padded: true).utf8)
    }

    /// Decodes a `-text` request body as it arrives in pieces of any size: whole
    /// groups of four characters are decoded, the rest is kept for the next piece.
    /// Padding may end any group (clients may encode each envelope on its own); line
    /// breaks and spaces between characters are skipped, as MIME decoders do.
    struct TextDecoder {
        private var held: [UInt8] = []

        struct Invalid: Error {}

        mutating func decode(_ bytes: UnsafeRawBufferPointer) throws(Invalid) -> [UInt8] {
            for b in bytes where b != 0x0A && b != 0x0D && b != 0x20 && b != 0x09 { held.append(b) }
            var out: [UInt8] = []
            var start = 0
            var i = 0
            // Runs of groups end at a padded group; each run decodes on its own.
            while i + 4 <= held.count {
                i += 4
                if held[i - 1] == 0x3D || i + 4 > held.count {
                    guard let decoded = Base64.decode(String(decoding: held[start..<i], as: UTF8.self)) else {
                        throw Invalid()
                    }
                    out += decoded
                    start = i
                }
            }
            held.removeFirst(start)
            return out
        }

        /// Characters left over at the end of the body: a truncated group.
        var isEmpty: Bool { held.isEmpty }
    }
}
