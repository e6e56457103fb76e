import BacktestEngine

/// The bars or ticks a sweep runs on: loaded once, then read by every worker at once
/// (arrays are values: sharing them copies nothing).
enum SweepData: Sendable {
    case candles([Candle])
    case ticks([Tick])

    var count: Int {
        switch self {
        case .candles(let rows): rows.count
        case .ticks(let rows): rows.count
        }
    }
}
