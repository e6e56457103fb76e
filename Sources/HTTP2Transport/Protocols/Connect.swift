import RPC

/// The Connect protocol's answers (connectrpc.com/docs/protocol): HTTP statuses and
/// JSON errors for unary calls, the end-of-stream envelope for streams.
enum Connect {
    /// The HTTP status a unary call's error is answered with.
    static func httpStatus(_ code: Status.Code) -> Int {
        switch code {
        case .ok: 200
        case .cancelled: 499
        case .unknown, .internal, .dataLoss: 500
        case .invalidArgument, .failedPrecondition, .outOfRange: 400
        case .deadlineExceeded: 504
        case .notFound: 404
        case .alreadyExists, .aborted: 409
        case .permissionDenied: 403
        case .resourceExhausted: 429
        case .unimplemented: 501
        case .unavailable: 503
        case .unauthenticated: 401
        }
    }

    /// Connect's name for a code (lower snake case; "canceled" with one l).
    static func codeName(_ code: Status.Code) -> String {
        switch code {
        case .ok: "ok"
        case .cancelled: "canceled"
        case .unknown: "unknown"
        case .invalidArgument: "invalid_argument"
        case .deadlineExceeded: "deadline_exceeded"
        case .notFound: "not_found"
        case .alreadyExists: "already_exists"
        case .permissionDenied: "permission_denied"
        case .resourceExhausted: "resource_exhausted"
        case .failedPrecondition: "failed_precondition"
        case .aborted: "aborted"
        case .outOfRange: "out_of_range"
        case .unimplemented: "unimplemented"
        case .internal: "internal"
        case .unavailable: "unavailable"
        case .dataLoss: "data_loss"
        case .unauthenticated: "unauthenticated"
        }
    }

    /// `{"code": ..., "message": ...}`: a unary error's body, and the `error` of an
    /// end-of-stream message.
    static func errorJSON(_ status: Status) -> String {
        var json = "{\"code\":" + quoted(codeName(status.code))
        if !status.message.isEmpty { json += ",\"message\":" + quoted(status.message) }
        return json + "}"
    }

    /// The end-of-stream envelope: flag 0x02, then `{"error": ..., "metadata": ...}`
    /// (no error on success; trailers as lists of values by name).
    static func endOfStream(_ status: Status, trailers: [(String, String)]) -> [UInt8] {
        var parts: [String] = []
        if status.code != .ok { parts.append("\"error\":" + errorJSON(status)) }
        if !trailers.isEmpty {
            var byName: [(String, [String])] = []
            for (name, value) in trailers {
                if let i = byName.firstIndex(where: { $0.0 == name }) {
                    byName[i].1.append(value)
                } else {
                    byName.append((name, [value]))
                }
            }
            parts.append(
                "\"metadata\":{"
                    + byName.map { quoted($0.0) + ":[" + $0.1.map(quoted).joined(separator: ",") + "]" }.joined(
                        separator: ",") + "}")
        }
        return MessageFramer.frame(Array(("{" + parts.joined(separator: ",") + "}").utf8), flags: 0x02)
    }

    /// `connect-timeout-ms`: a positive integer of at most 10 digits.
    static func timeout(_ text: String) -> Duration? {
        guard (1...10).contains(text.utf8.count), text.utf8.allSatisfy({ (0x30...0x39).contains($0) }),
            let ms = Int64(text)
        else { return nil }
        return .milliseconds(ms)
    }

    /// A JSON string literal.
    static func quoted(_ text: String) -> String {
        var out = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case let c where c.value < 0x20:
                let hex = String(c.value, radix: 16)
                out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out + "\""
    }
}
