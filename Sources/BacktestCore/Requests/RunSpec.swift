import BacktestEngine

/// A request after validation: what the registry and the run work from.
struct RunSpec: Sendable {
    var symbol: String
    var timeframe: Timeframe
    var range: TimeRange
    var config: BacktestConfig
    /// Simulated seconds per wall second; 0 = unthrottled.
    var accelerationFactor: Double
    var clientRequestId: String
    var labels: [String: String]
    /// The request as its protocol encodes it; what dedup compares.
    var encoded: [UInt8]
    var strategyName: String { config.strategy.displayName }

    init(request r: RunRequest) {
        symbol = r.symbol
        timeframe = r.timeframe
        range = TimeRange(start: r.start, end: r.end)
        config = r.config
        accelerationFactor = r.accelerationFactor
        clientRequestId = r.clientRequestId
        labels = r.labels
        encoded = r.encoded
    }
}
