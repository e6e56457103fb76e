import BacktestEngine

/// A row kept in column chunks: one time column plus a fixed number of Double columns.
/// Per-row SQLite inserts and reads run at a few hundred thousand to a few million rows
/// per second; chunks of packed columns move whole blocks and run at memory speed.
public protocol ColumnarRow: Sendable {
    static var doubleColumns: Int { get }
    var time: Int64 { get }
    func double(at column: Int) -> Double
    init(time: Int64, doubles: UnsafePointer<Double>)
}

extension Candle: ColumnarRow {
    public static var doubleColumns: Int { 5 }
    public func double(at column: Int) -> Double {
        switch column {
        case 0: return open
        case 1: return high
        case 2: return low
        case 3: return close
        default: return volume
        }
    }
    public init(time: Int64, doubles d: UnsafePointer<Double>) {
        self.init(time: time, open: d[0], high: d[1], low: d[2], close: d[3], volume: d[4])
    }
}

extension Tick: ColumnarRow {
    public static var doubleColumns: Int { 2 }
    public func double(at column: Int) -> Double { column == 0 ? price : size }
    public init(time: Int64, doubles d: UnsafePointer<Double>) {
        self.init(time: time, price: d[0], size: d[1])
    }
}

extension EquitySample: ColumnarRow {
    public static var doubleColumns: Int { 4 }
    public func double(at column: Int) -> Double {
        switch column {
        case 0: return equity
        case 1: return cash
        case 2: return positionSize
        default: return drawdownPct
        }
    }
    public init(time: Int64, doubles d: UnsafePointer<Double>) {
        self.init(time: time, equity: d[0], cash: d[1], positionSize: d[2], drawdownPct: d[3])
    }
}

/// The blob layout: a format byte (1), then `count` little-endian Int64 times, then each
/// Double column in turn (`count` little-endian IEEE 754 bit patterns), so NaN and
/// every other value come back bit for bit. The row count is stored beside the blob.
enum ColumnChunk {
    static let format: UInt8 = 1
    /// Rows per chunk: about 200 KB for candles.
    static let capacity = 4096

    static func encode<Row: ColumnarRow>(_ rows: ArraySlice<Row>) -> [UInt8] {
        let n = rows.count
        let size = 1 + n * 8 * (1 + Row.doubleColumns)
        return [UInt8](unsafeUninitializedCapacity: size) { buffer, initialized in
            let raw = UnsafeMutableRawBufferPointer(buffer)
            raw[0] = format
            var offset = 1
            for row in rows {
                raw.storeBytes(of: row.time.littleEndian, toByteOffset: offset, as: Int64.self)
                offset += 8
            }
            for column in 0..<Row.doubleColumns {
                for row in rows {
                    raw.storeBytes(
                        of: row.double(at: column).bitPattern.littleEndian, toByteOffset: offset, as: UInt64.self)
                    offset += 8
                }
            }
            initialized = size
        }
    }

    static func encode<Row: ColumnarRow>(_ rows: [Row]) -> [UInt8] { encode(rows[...]) }

    /// Appends the blob's rows (those whose time passes `keep`) to `out`.
    static func decode<Row: ColumnarRow>(
        _ blob: UnsafeRawBufferPointer, count n: Int, into out: inout [Row],
        keep: TimeRange? = nil
    ) throws(StoreError) {
        guard blob.count == 1 + n * 8 * (1 + Row.doubleColumns), n >= 0, blob.first == format else {
            throw StoreError.failed("corrupt column chunk: \(blob.count) bytes for \(n) rows of \(Row.self)")
        }
        out.reserveCapacity(out.count + n)
        let columns = Row.doubleColumns
        withUnsafeTemporaryAllocation(of: Double.self, capacity: columns) { doubles in
            let d = doubles.baseAddress!
            for i in 0..<n {
                let time = Int64(littleEndian: blob.loadUnaligned(fromByteOffset: 1 + i * 8, as: Int64.self))
                if let keep, !keep.contains(time) { continue }
                for c in 0..<columns {
                    let bits = blob.loadUnaligned(fromByteOffset: 1 + ((c + 1) * n + i) * 8, as: UInt64.self)
                    d[c] = Double(bitPattern: UInt64(littleEndian: bits))
                }
                out.append(Row(time: time, doubles: d))
            }
        }
    }
}
