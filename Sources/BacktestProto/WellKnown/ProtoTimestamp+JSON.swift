/// `google.protobuf.Timestamp` in JSON: an RFC 3339 string. Written in UTC with `Z`
/// and 0, 3, 6 or 9 fractional digits (`1972-01-01T10:00:20.021Z`); read with any
/// offset and up to 9 fractional digits. Only 0001-01-01 to 9999-12-31 exist.
extension ProtoTimestamp: ProtoJSONMessage {
    public func protoJSON(options: ProtoJSONEncodingOptions) throws -> JSONValue {
        guard isValid else {
            throw ProtoJSONError("not a valid timestamp (seconds \(seconds), nanos \(nanos)): outside 0001-01-01 to 9999-12-31 or nanos outside 0 to 999999999")
        }
        let days = seconds >= 0 ? seconds / 86_400 : (seconds - 86_399) / 86_400
        let secondOfDay = seconds - days * 86_400
        let (year, month, day) = CivilDate.fromDays(days)
        var text = pad(year, 4) + "-" + pad(month, 2) + "-" + pad(day, 2) + "T"
        text += pad(secondOfDay / 3600, 2) + ":" + pad(secondOfDay / 60 % 60, 2) + ":" + pad(secondOfDay % 60, 2)
        text += CivilDate.fraction(nanos)
        return .string(text + "Z")
    }

    public init(protoJSON json: JSONValue, options: ProtoJSONDecodingOptions) throws {
        guard case .string(let text) = json else { throw ProtoJSON.mismatch("an RFC 3339 timestamp string", json) }
        guard let (seconds, nanos) = Self.parse(Array(text.utf8)) else {
            throw ProtoJSONError("not an RFC 3339 timestamp like 1972-01-01T10:00:20.021Z: \(ProtoJSON.quoted(text))")
        }
        self.init(seconds: seconds, nanos: nanos)
        guard isValid else { throw ProtoJSONError("timestamp out of range (0001-01-01 to 9999-12-31): \(ProtoJSON.quoted(text))") }
    }

    /// `YYYY-MM-DDTHH:MM:SS[.fraction](Z|+HH:MM|-HH:MM)`, fields in range.
    private static func parse(_ b: [UInt8]) -> (Int64, Int32)? {
        var i = 0
        func number(_ width: Int) -> Int64? {
            guard i + width <= b.count else { return nil }
            var v: Int64 = 0
            for _ in 0..<width {
                guard b[i] >= 48 && b[i] <= 57 else { return nil }
                v = v * 10 + Int64(b[i] - 48)
                i += 1
            }
            return v
        }
        func expect(_ c: Character) -> Bool {
            guard i < b.count, b[i] == c.asciiValue! else { return false }
            i += 1
            return true
        }
        guard let year = number(4), expect("-"), let month = number(2), expect("-"), let day = number(2), expect("T"),
              let hour = number(2), expect(":"), let minute = number(2), expect(":"), let second = number(2) else { return nil }
        guard (1...12).contains(month), day >= 1, day <= CivilDate.daysInMonth(year, month),
              hour <= 23, minute <= 59, second <= 59 else { return nil }
        var nanos: Int32 = 0
        if expect(".") {
            var digits = 0
            while i < b.count, b[i] >= 48 && b[i] <= 57 {
                guard digits < 9 else { return nil }
                nanos = nanos * 10 + Int32(b[i] - 48)
                digits += 1
                i += 1
            }
            guard digits > 0 else { return nil }
            for _ in digits..<9 { nanos *= 10 }
        }
        var offset: Int64 = 0
        if expect("Z") {
        } else if i < b.count, b[i] == UInt8(ascii: "+") || b[i] == UInt8(ascii: "-") {
            let sign: Int64 = b[i] == UInt8(ascii: "-") ? -1 : 1
            i += 1
            guard let h = number(2), expect(":"), let m = number(2), h <= 23, m <= 59 else { return nil }
            offset = sign * (h * 3600 + m * 60)
        } else {
            return nil
        }
        guard i == b.count else { return nil }
        let days = CivilDate.toDays(year, month, day)
        return (days * 86_400 + hour * 3600 + minute * 60 + second - offset, nanos)
    }

    private func pad(_ v: Int64, _ width: Int) -> String {
        let s = String(v)
        return String(repeating: "0", count: max(0, width - s.count)) + s
    }
}
