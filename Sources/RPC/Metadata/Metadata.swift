/// gRPC metadata: an ordered multimap of lower-case keys to ASCII or binary values.
/// Keys ending in `-bin` carry binary values, base64-encoded on the wire.
public struct Metadata: Sendable, Equatable, Sequence {
    public enum Value: Sendable, Equatable {
        case string(String)
        case binary([UInt8])
    }

    public private(set) var entries: [(key: String, value: Value)] = []

    public init() {}

    public init(_ pairs: [(String, String)]) {
        for (k, v) in pairs { add(k, v) }
    }

    /// Adds an ASCII value (for a `-bin` key, the UTF-8 bytes of `value`).
    public mutating func add(_ key: String, _ value: String) {
        let k = key.lowercased()
        entries.append((k, k.hasSuffix("-bin") ? .binary(Array(value.utf8)) : .string(value)))
    }

    public mutating func add(_ key: String, binary: [UInt8]) {
        entries.append((key.lowercased(), .binary(binary)))
    }

    /// The first ASCII value for `key`.
    public subscript(key: String) -> String? {
        let k = key.lowercased()
        for e in entries where e.key == k {
            if case .string(let s) = e.value { return s }
        }
        return nil
    }

    /// Every binary value for `key`.
    public func binaryValues(_ key: String) -> [[UInt8]] {
        let k = key.lowercased()
        return entries.compactMap { e in
            if e.key == k, case .binary(let b) = e.value { return b }
            return nil
        }
    }

    public var isEmpty: Bool { entries.isEmpty }

    public func makeIterator() -> IndexingIterator<[(key: String, value: Value)]> {
        entries.makeIterator()
    }

    public static func == (a: Metadata, b: Metadata) -> Bool {
        a.entries.count == b.entries.count
            && zip(a.entries, b.entries).allSatisfy { $0.key == $1.key && $0.value == $1.value }
    }

    /// Keys a client may send: `[0-9a-z_.-]`, not starting with `:` or `grpc-`
    /// (reserved) — the transport filters what is not metadata.
    public static func isValidKey(_ key: String) -> Bool {
        !key.isEmpty
            && key.utf8.allSatisfy { c in
                (c >= 0x30 && c <= 0x39) || (c >= 0x61 && c <= 0x7A) || c == 0x5F || c == 0x2E || c == 0x2D
            }
    }

    /// Header name/value pairs for the wire: binary values base64 without padding.
    public func headerFields() -> [(String, String)] {
        entries.map { e in
            switch e.value {
            case .string(let s): (e.key, s)
            case .binary(let b): (e.key, Base64.encode(b, padded: false))
            }
        }
    }

    /// Metadata from received header fields: pseudo-headers and transport headers are
    /// skipped; a `-bin` value that is not base64 is dropped rather than guessed.
    public static func fromHeaderFields(_ fields: [(String, String)]) -> Metadata {
        var md = Metadata()
        for (name, value) in fields {
            if name.hasPrefix(":") || Self.transportHeaders.contains(name) { continue }
            if name.hasSuffix("-bin") {
                if let bytes = Base64.decode(value) { md.add(name, binary: bytes) }
            } else {
                md.entries.append((name, .string(value)))
            }
        }
        return md
    }

    static let transportHeaders: Set<String> = [
        "content-type", "te", "grpc-timeout", "grpc-encoding", "grpc-accept-encoding",
        "user-agent", "content-length", "grpc-status", "grpc-message", "grpc-status-details-bin",
    ]
}
