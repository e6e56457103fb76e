internal import CLibPQ
import TimeKit

// The only file that touches libpq: everything above it sees Swift values. Used for
// QuestDB's DDL and reads (its PG-wire endpoint) and tested against PostgreSQL.

/// A value bound to a `$n` parameter, sent in text format (QuestDB and PostgreSQL both
/// parse it as the parameter's type), or binary for bytes.
public enum PGParameter: Sendable, Equatable {
    case text(String)
    case int(Int64)
    case double(Double)
    case bool(Bool)
    /// Microseconds since the Unix epoch, sent as an ISO 8601 UTC timestamp.
    case timestampMicros(Int64)
    case bytes([UInt8])
    case null
}

/// One field of a result row, decoded from PG's binary format by column type.
public enum PGValue: Sendable, Equatable {
    case null
    case int(Int64)
    case double(Double)
    case bool(Bool)
    case text(String)
    /// `timestamp` / `timestamptz`, as microseconds since the Unix epoch (UTC).
    case timestampMicros(Int64)
    /// bytea, or a type this layer does not decode (raw binary).
    case bytes([UInt8])

    public var int: Int64? {
        switch self {
        case .int(let v): return v
        case .timestampMicros(let v): return v
        case .double(let d): return Int64(exactly: d)
        default: return nil
        }
    }
    public var double: Double? {
        switch self {
        case .double(let v): return v
        case .int(let v): return Double(v)
        default: return nil
        }
    }
    public var text: String? {
        if case .text(let v) = self { return v }
        return nil
    }
    public var isNull: Bool { self == .null }
}

/// A query's result: column names and rows of typed values.
public struct PGResult: Sendable {
    public var columns: [String]
    public var rows: [[PGValue]]
    /// The command tag's row count (INSERT/UPDATE/DELETE), 0 when there is none.
    public var affectedRows: Int
}

/// An error the server reported for a statement; the connection stays usable.
/// (QuestDB sends SQLSTATE 00000 for its errors: match on the message there.)
public struct PGServerError: Error, Sendable, Equatable, CustomStringConvertible {
    public var sqlState: String
    public var message: String
    public var detail: String

    public var description: String {
        "SQLSTATE \(sqlState): \(message)" + (detail.isEmpty ? "" : " (\(detail))")
    }
}

/// One libpq connection. Not thread-safe: confine it to one queue or task at a time.
/// Lost connections (server gone, backend terminated, network) surface as
/// `StoreError.unavailable`; statement errors as `PGServerError`.
public final class PGConnection {
    private var conn: OpaquePointer?
    private let redactedURL: String

    /// `url` is a libpq URI or key=value string, e.g.
    /// `postgresql://user:password@127.0.0.1:5432/db?sslmode=disable`.
    public init(url: String, connectTimeoutSeconds: Int = 10) throws(StoreError) {
        redactedURL = Self.redact(url)
        // libpq takes the options as parallel keyword/value arrays; expand_dbname
        // lets the first "dbname" be a whole URI.
        let keywords = ["dbname", "connect_timeout", "client_encoding"]
        let values = [url, String(connectTimeoutSeconds), "UTF8"]
        let handle = Self.withCStrings(keywords) { k in
            Self.withCStrings(values) { v in PQconnectdbParams(k, v, 1) }
        }
        guard let handle else { throw StoreError.unavailable("cannot allocate a PostgreSQL connection") }
        guard PQstatus(handle) == CONNECTION_OK else {
            let message = Self.trimmed(String(cString: PQerrorMessage(handle)))
            PQfinish(handle)
            throw StoreError.unavailable("cannot connect to \(redactedURL): \(message)")
        }
        conn = handle
    }

    deinit { close() }

    public func close() {
        if let conn { PQfinish(conn) }
        conn = nil
    }

    /// False once the connection is closed or was found broken.
    public var isConnected: Bool { conn.map { PQstatus($0) == CONNECTION_OK } ?? false }

    /// The server's process id for this session (PostgreSQL's pg_backend_pid()).
    public var backendPID: Int32 { conn.map { PQbackendPID($0) } ?? 0 }

    /// Runs one statement with `$1...$n` bound to `parameters` (extended protocol, so
    /// parameters never become SQL text) and returns the rows in binary format.
    @discardableResult
    public func query(_ sql: String, _ parameters: [PGParameter] = []) throws -> PGResult {
        guard let conn, PQstatus(conn) == CONNECTION_OK else {
            throw StoreError.unavailable("PostgreSQL connection to \(redactedURL) is closed")
        }
        var texts: [[UInt8]?] = []
        var formats: [Int32] = []
        for parameter in parameters {
            switch parameter {
            case .text(let s):
                texts.append(Array(s.utf8) + [0])
                formats.append(0)
            case .int(let v):
                texts.append(Array(String(v).utf8) + [0])
                formats.append(0)
            case .double(let v):
                texts.append(Array(Self.doubleText(v).utf8) + [0])
                formats.append(0)
            case .bool(let v):
                texts.append(Array((v ? "true" : "false").utf8) + [0])
                formats.append(0)
            case .timestampMicros(let v):
                texts.append(Array(Self.timestampText(v).utf8) + [0])
                formats.append(0)
            case .bytes(let b):
                texts.append(b)
                formats.append(1)
            case .null:
                texts.append(nil)
                formats.append(0)
            }
        }
        // Lengths matter only for binary parameters (text ones are NUL-terminated).
        let lengths = texts.map { Int32($0?.count ?? 0) }
        let result: OpaquePointer? = Self.withPointers(texts) { values in
            lengths.withUnsafeBufferPointer { lengthPointer in
                formats.withUnsafeBufferPointer { formatPointer in
                    PQexecParams(
                        conn, sql, Int32(parameters.count), nil, values, lengthPointer.baseAddress,
                        formatPointer.baseAddress, 1)
                }
            }
        }
        defer { PQclear(result) }
        guard let result else {
            throw lostOrFailed(message: String(cString: PQerrorMessage(conn)))
        }
        switch PQresultStatus(result) {
        case PGRES_TUPLES_OK, PGRES_COMMAND_OK, PGRES_EMPTY_QUERY:
            return decode(result)
        default:
            let sqlState = PQresultErrorField(result, Self.diagSQLState).map { String(cString: $0) } ?? ""
            let primary =
                PQresultErrorField(result, Self.diagMessage).map { String(cString: $0) }
                ?? Self.trimmed(String(cString: PQresultErrorMessage(result)))
            let detail = PQresultErrorField(result, Self.diagDetail).map { String(cString: $0) } ?? ""
            if PQstatus(conn) != CONNECTION_OK {
                throw StoreError.unavailable(
                    "PostgreSQL connection to \(redactedURL) lost: \(primary)"
                        + (sqlState.isEmpty ? "" : " (SQLSTATE \(sqlState))"))
            }
            throw PGServerError(sqlState: sqlState, message: primary, detail: detail)
        }
    }

    private func lostOrFailed(message: String) -> Error {
        if let conn, PQstatus(conn) == CONNECTION_OK {
            return StoreError.failed("PostgreSQL: \(Self.trimmed(message))")
        }
        return StoreError.unavailable("PostgreSQL connection to \(redactedURL) lost: \(Self.trimmed(message))")
    }

    // MARK: Decoding (binary format, big-endian)

    // PG_DIAG_* are character-literal macros, which Swift does not import.
    private static let diagSQLState = Int32(UInt8(ascii: "C"))
    private static let diagMessage = Int32(UInt8(ascii: "M"))
    private static let diagDetail = Int32(UInt8(ascii: "D"))

    private static let pgEpochOffsetMicros: Int64 = 946_684_800_000_000

    private func decode(_ result: OpaquePointer) -> PGResult {
        let columnCount = Int(PQnfields(result))
        let rowCount = Int(PQntuples(result))
        let columns = (0..<columnCount).map { String(cString: PQfname(result, Int32($0))) }
        let types = (0..<columnCount).map { PQftype(result, Int32($0)) }
        var rows: [[PGValue]] = []
        rows.reserveCapacity(rowCount)
        for r in 0..<rowCount {
            var row: [PGValue] = []
            row.reserveCapacity(columnCount)
            for c in 0..<columnCount {
                if PQgetisnull(result, Int32(r), Int32(c)) != 0 {
                    row.append(.null)
                    continue
                }
                let length = Int(PQgetlength(result, Int32(r), Int32(c)))
                let bytes = UnsafeRawBufferPointer(start: PQgetvalue(result, Int32(r), Int32(c)), count: length)
                row.append(Self.value(type: types[c], bytes))
            }
            rows.append(row)
        }
        let affected = Int(String(cString: PQcmdTuples(result))) ?? 0
        return PGResult(columns: columns, rows: rows, affectedRows: affected)
    }

    private static func bigEndian<T: FixedWidthInteger>(_ bytes: UnsafeRawBufferPointer, _: T.Type) -> T? {
        guard bytes.count == MemoryLayout<T>.size else { return nil }
        return T(bigEndian: bytes.loadUnaligned(as: T.self))
    }

    static func value(type: Oid, _ bytes: UnsafeRawBufferPointer) -> PGValue {
        switch type {
        case 16: return .bool(bytes.first == 1)
        case 20: return bigEndian(bytes, Int64.self).map { .int($0) } ?? .bytes(Array(bytes))
        case 23: return bigEndian(bytes, Int32.self).map { .int(Int64($0)) } ?? .bytes(Array(bytes))
        case 21: return bigEndian(bytes, Int16.self).map { .int(Int64($0)) } ?? .bytes(Array(bytes))
        case 701: return bigEndian(bytes, UInt64.self).map { .double(Double(bitPattern: $0)) } ?? .bytes(Array(bytes))
        case 700:
            return bigEndian(bytes, UInt32.self).map { .double(Double(Float(bitPattern: $0))) } ?? .bytes(Array(bytes))
        case 1114, 1184:
            return bigEndian(bytes, Int64.self).map { .timestampMicros($0 + pgEpochOffsetMicros) }
                ?? .bytes(Array(bytes))
        case 25, 1043, 1042, 19, 705, 18: return .text(String(decoding: bytes, as: UTF8.self))
        default: return .bytes(Array(bytes))
        }
    }

    // MARK: Parameter text

    static func doubleText(_ v: Double) -> String {
        if v.isNaN { return "NaN" }
        if v.isInfinite { return v > 0 ? "Infinity" : "-Infinity" }
        return "\(v)"
    }

    /// `2024-01-02T09:30:00.000001Z`: both PostgreSQL and QuestDB parse it.
    static func timestampText(_ micros: Int64) -> String {
        UTCTime.format(micros, microseconds: true)
    }

    // MARK: Helpers

    private static func trimmed(_ s: String) -> String {
        var s = Substring(s)
        while let last = s.last, last.isWhitespace { s = s.dropLast() }
        return String(s)
    }

    /// The URL without its password, for messages.
    static func redact(_ url: String) -> String {
        guard let scheme = url.range(of: "://"), let at = url[scheme.upperBound...].firstIndex(of: "@") else {
            return url
        }
        let userInfo = url[scheme.upperBound..<at]
        guard let colon = userInfo.firstIndex(of: ":") else { return url }
        return String(url[..<colon]) + ":***" + String(url[at...])
    }

    private static func withCStrings<R>(_ strings: [String], _ body: (UnsafePointer<UnsafePointer<CChar>?>) -> R) -> R {
        let buffers = strings.map { Array($0.utf8CString) }
        return withPointers(buffers.map { $0.map { UInt8(bitPattern: $0) } } + [nil]) { body($0) }
    }

    /// Pointers to each buffer (nil stays nil), alive during `body`.
    private static func withPointers<R>(_ buffers: [[UInt8]?], _ body: (UnsafePointer<UnsafePointer<CChar>?>) -> R) -> R
    {
        let allocations: [UnsafeMutablePointer<CChar>?] = buffers.map { buffer in
            guard let buffer else { return nil }
            let p = UnsafeMutablePointer<CChar>.allocate(capacity: max(1, buffer.count))
            buffer.withUnsafeBytes { raw in
                if let base = raw.baseAddress {
                    UnsafeMutableRawPointer(p).copyMemory(from: base, byteCount: buffer.count)
                }
            }
            return p
        }
        defer { allocations.forEach { $0?.deallocate() } }
        let pointers = allocations.map { $0.map { UnsafePointer($0) } }
        return pointers.withUnsafeBufferPointer { body($0.baseAddress!) }
    }
}
