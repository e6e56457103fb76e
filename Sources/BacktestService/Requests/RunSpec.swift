import BacktestEngine
import BacktestProto

/// A StartBacktest request after validation: the engine's configuration and what the
/// runner needs, plus the request as accepted (defaults filled in) for storage.
struct RunSpec: Sendable {
    var symbol: String
    var timeframe: Timeframe
    var range: TimeRange
    var config: BacktestConfig
    /// Simulated seconds per wall second; 0 = unthrottled.
    var accelerationFactor: Double
    var clientRequestId: String
    var labels: [String: String]
    /// The request with defaults filled in; its encoding is what dedup compares.
    var accepted: StartBacktestRequest
    var strategyName: String { config.strategy.displayName }
}
