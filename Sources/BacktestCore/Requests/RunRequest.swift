import BacktestEngine

/// A request for a backtest in the service's terms: what to run, on which data, how
/// fast, and how the client names it. A protocol layer builds one from its message
/// (checking the message's own structure); `validated()` applies the service's rules.
public struct RunRequest: Sendable {
    public var symbol: String
    public var timeframe: Timeframe
    /// Microseconds since the epoch; the range is [start, end).
    public var start: Int64
    public var end: Int64
    public var config: BacktestConfig
    /// Simulated seconds per wall second; 0 = as fast as possible.
    public var accelerationFactor: Double
    /// Makes retries idempotent; empty = none.
    public var clientRequestId: String
    public var labels: [String: String]
    /// The request as its protocol encodes it, with defaults filled in: stored with the
    /// session, and compared when a client request id comes again.
    public var encoded: [UInt8]

    public init(
        symbol: String, timeframe: Timeframe, start: Int64, end: Int64, config: BacktestConfig,
        accelerationFactor: Double = 0, clientRequestId: String = "", labels: [String: String] = [:],
        encoded: [UInt8] = []
    ) {
        self.symbol = symbol
        self.timeframe = timeframe
        self.start = start
        self.end = end
        self.config = config
        self.accelerationFactor = accelerationFactor
        self.clientRequestId = clientRequestId
        self.labels = labels
        self.encoded = encoded
    }

    public static let maxSymbolBytes = 128
    public static let maxClientRequestIdBytes = 128
    public static let maxLabels = 64
    public static let maxLabelKeyBytes = 128
    public static let maxLabelValueBytes = 1024
    /// Tick runs sample the equity curve once a simulated minute unless told otherwise.
    public static let defaultEquitySampleMicros: Int64 = 60_000_000

    /// The data range, [start, end).
    var range: TimeRange { TimeRange(start: start, end: end) }
    var strategyName: String { config.strategy.displayName }

    /// Checks every field (the configuration through the engine's own rules) and
    /// returns the request, now known good; a refusal names the field.
    public func validated() throws(ServiceError) -> RunRequest {
        try Self.checkSymbol(symbol, field: "symbol")
        guard start < end else { throw .invalid("end_time", "must be after start_time") }
        guard accelerationFactor.isFinite, accelerationFactor >= 0 else {
            throw .invalid(
                "acceleration_factor", "must be 0 (as fast as possible) or positive, got \(accelerationFactor)")
        }
        guard clientRequestId.utf8.count <= Self.maxClientRequestIdBytes else {
            throw .invalid("client_request_id", "longer than \(Self.maxClientRequestIdBytes) bytes")
        }
        guard labels.count <= Self.maxLabels else { throw .invalid("labels", "more than \(Self.maxLabels) labels") }
        for (key, value) in labels.sorted(by: { $0.key < $1.key }) {
            guard !key.isEmpty else { throw .invalid("labels", "a label key is empty") }
            guard key.utf8.count <= Self.maxLabelKeyBytes else {
                throw .invalid("labels", "key \"\(key.prefix(32))...\" is longer than \(Self.maxLabelKeyBytes) bytes")
            }
            guard value.utf8.count <= Self.maxLabelValueBytes else {
                throw .invalid("labels", "value of \"\(key)\" is longer than \(Self.maxLabelValueBytes) bytes")
            }
        }
        // The engine takes any interval; the service keeps tick runs' curves bounded.
        guard config.equitySampleIntervalMicros >= 1000 else {
            throw .invalid("equity_sample_interval", "must be at least 1 ms")
        }
        do {
            try Engine.validate(config)
        } catch {
            throw error.field.map { .invalid($0, error.message) } ?? .invalid("strategy", error.description)
        }
        return self
    }

    /// A symbol as every request names one: present, bounded, printable.
    public static func checkSymbol(_ symbol: String, field: String) throws(ServiceError) {
        guard !symbol.isEmpty else { throw .invalid(field, "required") }
        guard symbol.utf8.count <= maxSymbolBytes else { throw .invalid(field, "longer than \(maxSymbolBytes) bytes") }
        guard !symbol.unicodeScalars.contains(where: { $0.properties.generalCategory == .control }) else {
            throw .invalid(field, "contains a control character")
        }
    }

    /// A timeframe as every request names one: "tick", "1m", "1h", "1d", ...
    public static func timeframe(_ text: String, field: String) throws(ServiceError) -> Timeframe {
        guard !text.isEmpty else { throw .invalid(field, "required (\"tick\", \"1m\", \"1h\", \"1d\", ...)") }
        do {
            return try Timeframe(parsing: text)
        } catch {
            throw .invalid(field, error.description)
        }
    }
}
