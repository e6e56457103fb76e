/// `grpc-message` percent-encoding: bytes outside 0x20...0x7E and `%` itself are
/// sent as %XX of their UTF-8 bytes.
public enum StatusMessageCoding {
    public static func encode(_ message: String) -> String {
        var out = ""
        out.reserveCapacity(message.utf8.count)
        for byte in message.utf8 {
            if byte >= 0x20 && byte <= 0x7E && byte != 0x25 {
                out.unicodeScalars.append(Unicode.Scalar(byte))
            } else {
                out += "%"
                out += hexDigit(byte >> 4)
                out += hexDigit(byte & 0xF)
            }
        }
        return out
    }

    /// Decodes leniently: a malformed escape is kept as it is, invalid UTF-8 repaired.
    public static func decode(_ text: String) -> String {
        let bytes = Array(text.utf8)
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count)
        var i = 0
        while i < bytes.count {
            if bytes[i] == 0x25, i + 2 < bytes.count, let hi = hexValue(bytes[i + 1]), let lo = hexValue(bytes[i + 2]) {
                out.append(hi << 4 | lo)
                i += 3
            } else {
                out.append(bytes[i])
                i += 1
            }
        }
        return String(decoding: out, as: UTF8.self)
    }

    private static func hexDigit(_ v: UInt8) -> String {
        String(UnicodeScalar(v < 10 ? 0x30 + v : 0x41 + v - 10))
    }

    private static func hexValue(_ c: UInt8) -> UInt8? {
        switch c {
        case 0x30...0x39: c - 0x30
        case 0x41...0x46: c - 0x41 + 10
        case 0x61...0x66: c - 0x61 + 10
        default: nil
        }
    }
}
