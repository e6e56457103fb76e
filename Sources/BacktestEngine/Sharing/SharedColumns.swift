import Synchronization

/// Indicator columns computed once for many runs over the same bars (a parameter
/// sweep): SMA(close, 10) over the whole series is made by the first engine that needs
/// it and read by every later one, instead of each engine updating its own average bar
/// by bar.
///
/// A column is the indicator's value at every bar, made by the same indicator code an
/// engine runs, over the same values in the same order, so an engine reading it gets
/// the numbers it would have computed, bit for bit. Only indicators of the bars' own
/// fields are shared (their values depend on nothing else); an engine given these
/// columns must be fed exactly these bars, from the first, in order (it checks the
/// times of every chunk against them).
///
/// Memory is bounded: columns are kept up to `budgetBytes`, the least recently used
/// dropped first (an engine still reading a dropped column keeps it until it ends). A
/// column that does not fit at all is not shared: the engine computes its own.
public final class SharedColumns: Sendable {
    enum Rows: Sendable {
        case candles([Candle])
        case ticks([Tick])
    }

    let rows: Rows
    /// Bars (or ticks).
    public let count: Int
    public let budgetBytes: Int
    private let cache = Mutex(Cache())

    struct Cache {
        var columns: [String: (column: SharedColumn, used: UInt64)] = [:]
        var bytes = 0
        var clock: UInt64 = 0
        var usage = SharedColumns.Usage()
    }

    /// How the columns were used, for logs and tests.
    public struct Usage: Sendable, Equatable {
        /// Columns computed (each a pass over the bars).
        public var computed = 0
        /// Requests answered by a column already made.
        public var reused = 0
        /// Columns dropped to stay within the budget.
        public var evicted = 0
        /// Requests refused: a column larger than the whole budget.
        public var refused = 0
        public init() {}
    }

    public init(candles: [Candle], budgetBytes: Int) {
        rows = .candles(candles)
        count = candles.count
        self.budgetBytes = max(0, budgetBytes)
    }

    /// Ticks are bars whose open, high, low and close are the price and volume the size,
    /// as an engine fed ticks sees them.
    public init(ticks: [Tick], budgetBytes: Int) {
        rows = .ticks(ticks)
        count = ticks.count
        self.budgetBytes = max(0, budgetBytes)
    }

    public var usage: Usage { cache.withLock { $0.usage } }
    /// Bytes held by the cache now.
    public var bytesHeld: Int { cache.withLock { $0.bytes } }

    /// The column named `key`, made by `fill` (which writes all `count` values) when no
    /// engine made it yet; nil when it cannot fit in the budget.
    func column(_ key: String, fill: (UnsafeMutablePointer<Double>) -> Void) -> SharedColumn? {
        let size = max(count, 1) * MemoryLayout<Double>.stride
        let found: SharedColumn? = cache.withLock { c in
            guard size <= budgetBytes else {
                c.usage.refused += 1
                return nil
            }
            c.clock += 1
            guard let entry = c.columns[key] else { return nil }
            c.columns[key] = (entry.column, c.clock)
            c.usage.reused += 1
            return entry.column
        }
        guard size <= budgetBytes else { return nil }
        if let found { return found }
        // Made outside the lock: other engines go on meanwhile. Two engines making the
        // same column at once both compute it; the first one stored is kept.
        let made = SharedColumn(count: count)
        fill(made.values)
        return cache.withLock { c in
            c.clock += 1
            if let entry = c.columns[key] {
                c.columns[key] = (entry.column, c.clock)
                c.usage.reused += 1
                return entry.column
            }
            c.usage.computed += 1
            while c.bytes + size > budgetBytes, let oldest = c.columns.min(by: { $0.value.used < $1.value.used }) {
                c.columns[oldest.key] = nil
                c.bytes -= size
                c.usage.evicted += 1
            }
            c.columns[key] = (made, c.clock)
            c.bytes += size
            return made
        }
    }

    /// Field `slot` (open, high, low, close or volume) of bars from..<from + n, into `out`.
    func field(_ slot: Int32, from: Int, count n: Int, into out: UnsafeMutablePointer<Double>) {
        switch rows {
        case .candles(let candles):
            candles.withUnsafeBufferPointer { b in
                let base = b.baseAddress! + from
                switch slot {
                case FieldSlot.open: for j in 0..<n { out[j] = base[j].open }
                case FieldSlot.high: for j in 0..<n { out[j] = base[j].high }
                case FieldSlot.low: for j in 0..<n { out[j] = base[j].low }
                case FieldSlot.close: for j in 0..<n { out[j] = base[j].close }
                default: for j in 0..<n { out[j] = base[j].volume }
                }
            }
        case .ticks(let ticks):
            ticks.withUnsafeBufferPointer { b in
                let base = b.baseAddress! + from
                if slot == FieldSlot.volume {
                    for j in 0..<n { out[j] = base[j].size }
                } else {
                    for j in 0..<n { out[j] = base[j].price }
                }
            }
        }
    }

    /// The time of bar `index`.
    func time(at index: Int) -> Int64 {
        switch rows {
        case .candles(let candles): candles[index].time
        case .ticks(let ticks): ticks[index].time
        }
    }
}
