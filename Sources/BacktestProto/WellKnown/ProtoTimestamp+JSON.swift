import TimeKit

/// `google.protobuf.Timestamp` in JSON: an RFC 3339 string. Written in UTC with `Z`
/// and 0, 3, 6 or 9 fractional digits (`1972-01-01T10:00:20.021Z`); read with any
/// offset and up to 9 fractional digits. Only 0001-01-01 to 9999-12-31 exist.
extension ProtoTimestamp: ProtoJSONMessage {
    public func protoJSON(options: ProtoJSONEncodingOptions) throws -> JSONValue {
        guard isValid else {
            throw ProtoJSONError(
                "not a valid timestamp (seconds \(seconds), nanos \(nanos)): outside 0001-01-01 to 9999-12-31 or nanos outside 0 to 999999999"
            )
        }
        return .string(UTCTime.format(seconds: seconds, nanos: nanos))
    }

    public init(protoJSON json: JSONValue, options: ProtoJSONDecodingOptions) throws {
        guard case .string(let text) = json else { throw ProtoJSON.mismatch("an RFC 3339 timestamp string", json) }
        guard let (seconds, nanos) = Self.parse(Array(text.utf8)) else {
            throw ProtoJSONError("not an RFC 3339 timestamp like 1972-01-01T10:00:20.021Z: \(ProtoJSON.quoted(text))")
        }
        self.init(seconds: seconds, nanos: nanos)
        guard isValid else {
            throw ProtoJSONError("timestamp out of range (0001-01-01 to 9999-12-31): \(ProtoJSON.quoted(text))")
        }
    }

    /// `YYYY-MM-DDTHH:MM:SS[.fraction](Z|+HH:MM|-HH:MM)`, fields in range.
    private static func parse(_ b: [UInt8]) -> (Int64, Int32)? {
        UTCTime.parse(String(decoding: b, as: UTF8.self))
    }
}
