/// One step of a compiled rule: a small stack machine over the bar's slot values.
/// Booleans are 1 and 0; a comparison with NaN is false.
enum Instruction {
    case constant(Double)
    case load(slot: Int32)
    /// The value of a history ring `lag` bars ago (NaN before the data had that many).
    case loadLag(ring: Int32, lag: Int32)
    case add, subtract, multiply
    /// `position` is where the "/" is in the rule's text (for the runtime error).
    case divide(position: Int32)
    case negate
    case less, lessEqual, greater, greaterEqual, equal, notEqual
    case not
    /// `and`: when the top is false, leave it and skip `offset` instructions; else pop it.
    case jumpIfFalse(offset: Int32)
    /// `or`: when the top is true, leave it and skip; else pop it.
    case jumpIfTrue(offset: Int32)
    /// a[1] < b[1] and a > b (backtesting.py's `crossover(a, b)`).
    case crossesAbove(a: Int32, aRing: Int32, b: Int32, bRing: Int32)
    /// a[1] > b[1] and a < b.
    case crossesBelow(a: Int32, aRing: Int32, b: Int32, bRing: Int32)
}

/// One series computed on every bar, in dependency order: indicator updates and the
/// expressions under indicators and lookbacks (those run every bar, because the
/// indicators' state must see every bar).
enum SeriesStep {
    case constant(Double, output: Int32)
    case lag(ring: Int32, lag: Int32, output: Int32)
    case expression(start: Int32, end: Int32, output: Int32, rule: Int32)
    case sma(Int32, input: Int32, output: Int32)
    case ema(Int32, input: Int32, output: Int32)
    case wma(Int32, input: Int32, output: Int32)
    case stddev(Int32, input: Int32, output: Int32)
    case extremum(Int32, input: Int32, output: Int32)
    case rsi(Int32, input: Int32, output: Int32)
    /// (x / x[n] - 1) * 100
    case roc(Int32, input: Int32, output: Int32)
    /// x - x[n]
    case momentum(Int32, input: Int32, output: Int32)
    case macd(Int32, input: Int32, line: Int32, signal: Int32, histogram: Int32)
    case bbands(Int32, input: Int32, upper: Int32, middle: Int32, lower: Int32)
    case atr(Int32, output: Int32)
    case vwap(Int32, output: Int32)
    /// volume / sma(volume, n); NaN when the mean is 0.
    case volumeRatio(Int32, output: Int32)
    /// Copied from the shared column `Int32` (`Program.sharedValues`) at the chunk's bars.
    case shared(Int32, output: Int32)
}

/// A slot whose past values are read (lookbacks and crossings), and how far back: its
/// column keeps that many bars of the previous batch in front of the current one.
struct HistoryRing {
    var slot: Int32
    var depth: Int
}

/// Fixed slots every program has.
enum FieldSlot {
    static let open: Int32 = 0
    static let high: Int32 = 1
    static let low: Int32 = 2
    static let close: Int32 = 3
    static let volume: Int32 = 4
    /// Signed units held (rules only).
    static let position: Int32 = 5
    /// Where outputs nobody reads go.
    static let scratch: Int32 = 6
    static let count = 7

    static func named(_ name: String) -> Int32? {
        switch name {
        case "open": return open
        case "high": return high
        case "low": return low
        case "close", "price": return close
        case "volume", "size": return volume
        case "position": return position
        default: return nil
        }
    }
}
