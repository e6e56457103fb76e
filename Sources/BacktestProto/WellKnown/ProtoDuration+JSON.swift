import TimeKit

/// `google.protobuf.Duration` in JSON: seconds with an `s`, 0, 3, 6 or 9 fractional
/// digits, the sign in front (`1.5s`, `-0.250s`); read with up to 9 digits. Only
/// about +-10,000 years exist.
extension ProtoDuration: ProtoJSONMessage {
    public func protoJSON(options: ProtoJSONEncodingOptions) throws -> JSONValue {
        guard isValid else {
            throw ProtoJSONError(
                "not a valid duration (seconds \(seconds), nanos \(nanos)): beyond 315576000000 s, nanos beyond 999999999 or of the other sign"
            )
        }
        let negative = seconds < 0 || nanos < 0
        return .string(
            (negative ? "-" : "") + String(seconds.magnitude) + UTCTime.fraction(nanos: Int32(nanos.magnitude)) + "s")
    }

    public init(protoJSON json: JSONValue, options: ProtoJSONDecodingOptions) throws {
        guard case .string(let text) = json else { throw ProtoJSON.mismatch("a duration string like \"1.5s\"", json) }
        guard let (seconds, nanos) = Self.parse(Array(text.utf8)) else {
            throw ProtoJSONError("not a duration like \"1.5s\" or \"-0.250s\": \(ProtoJSON.quoted(text))")
        }
        self.init(seconds: seconds, nanos: nanos)
        guard isValid else {
            throw ProtoJSONError("duration out of range (+-315576000000s): \(ProtoJSON.quoted(text))")
        }
    }

    /// `-?DIGITS(.DIGITS{1,9})?s`.
    private static func parse(_ b: [UInt8]) -> (Int64, Int32)? {
        var i = 0
        let negative = b.first == UInt8(ascii: "-")
        if negative { i += 1 }
        var seconds: Int64 = 0
        var digits = 0
        while i < b.count, b[i] >= 48 && b[i] <= 57 {
            // More than 12 digits is out of range anyway; stop before overflowing.
            guard digits < 13 else { return nil }
            seconds = seconds * 10 + Int64(b[i] - 48)
            digits += 1
            i += 1
        }
        guard digits > 0 else { return nil }
        var nanos: Int32 = 0
        if i < b.count, b[i] == UInt8(ascii: ".") {
            i += 1
            var fraction = 0
            while i < b.count, b[i] >= 48 && b[i] <= 57 {
                guard fraction < 9 else { return nil }
                nanos = nanos * 10 + Int32(b[i] - 48)
                fraction += 1
                i += 1
            }
            guard fraction > 0 else { return nil }
            for _ in fraction..<9 { nanos *= 10 }
        }
        guard i == b.count - 1, b[i] == UInt8(ascii: "s") else { return nil }
        return negative ? (-seconds, -nanos) : (seconds, nanos)
    }
}
