import ArgumentParser
import BacktestProto

/// Every field of a StartBacktest request as options; shared by `start` and
/// `encode-request`. Only the text is checked here (dates, numbers, pairs); the
/// server validates the request itself (start before end, capital > 0, known
/// symbol, strategy expressions) and answers INVALID_ARGUMENT naming the field.
struct StartOptions: ParsableArguments {
    @Option(help: "Instrument symbol, as stored (see `backtest data`).")
    var symbol: String

    @Option(help: "\"tick\" or a candle interval: 1m, 5m, 15m, 1h, 4h, 1d (N followed by s, m, h or d).")
    var timeframe: String

    @Option(help: ArgumentHelp("Range start (inclusive), UTC: 2004-08-19 or 2004-08-19T09:30:00Z.", valueName: "date"))
    var from: String

    @Option(help: ArgumentHelp("Range end (exclusive), UTC.", valueName: "date"))
    var to: String

    @Option(help: "Starting cash.")
    var capital: Double = 10_000

    @Option(
        help: ArgumentHelp(
            "Built-in strategy: default (momentum + volume entry, -5% stop, +10% take-profit) or sma_cross (default: default).",
            valueName: "name"))
    var strategy: String?

    @Option(
        name: .customLong("param"),
        help: ArgumentHelp("Strategy parameter NAME=NUMBER (repeatable), e.g. --param n1=10.", valueName: "name=value"))
    var params: [String] = []

    @Option(
        help: ArgumentHelp(
            "A rule strategy from a file (JSON or text; see the format below) instead of --strategy.", valueName: "file"
        ))
    var strategyFile: String?

    @Option(help: "Commission per fill as a fraction of notional (0.002 = 0.2%).")
    var commissionRate: Double = 0

    @Option(help: "Fixed commission per fill, in account currency.")
    var commissionFixed: Double = 0

    @Option(help: "Adverse slippage or half-spread in basis points.")
    var slippageBps: Double = 0

    @Flag(help: "Fill market orders at the signal bar's close instead of the next bar's open.")
    var fillOnClose = false

    @Option(
        help: ArgumentHelp(
            "Position sizing: all (default), fraction=F (0 < F <= 1), units=N or notional=AMOUNT.",
            valueName: "mode[=value]"))
    var sizing: String?

    @Flag(help: "Allow fractional units (crypto, FX); whole units otherwise.")
    var fractional = false

    @Option(
        help: ArgumentHelp(
            "Simulated seconds per wall-clock second: 1 = real time, 3600 = an hour a second, 0 = as fast as possible.",
            valueName: "factor"))
    var acceleration: Double = 0

    @Option(
        help: ArgumentHelp(
            "Tick backtests: equity sample interval (90, 30s, 5m, 1h); default once per simulated minute.",
            valueName: "duration"))
    var equityInterval: String?

    @Option(
        name: .customLong("request-id"),
        help: ArgumentHelp(
            "Client request id: a retry with the same id and request returns the same session.", valueName: "id"))
    var requestID: String = ""

    @Option(
        name: .customLong("label"),
        help: ArgumentHelp(
            "Label KEY=VALUE stored with the session (repeatable); filter with `sessions --label`.",
            valueName: "key=value"))
    var labels: [String] = []

    @Flag(help: "Leave the last position open at the end instead of closing it at the last price.")
    var leaveOpen = false

    func validate() throws {
        if strategy != nil && strategyFile != nil {
            throw ValidationError("--strategy and --strategy-file exclude each other")
        }
        // The text of every option, so that a typo is reported with this command's usage.
        // (--param's values are the command's to check: numbers for start, axes for sweep.)
        _ = try OptionParsing.pairs(params, option: "--param")
        _ = try OptionParsing.pairs(labels, option: "--label")
        _ = try OptionParsing.timestamp(from, option: "--from")
        _ = try OptionParsing.timestamp(to, option: "--to")
        _ = try sizing.map { try OptionParsing.sizing($0, fractional: fractional) }
        _ = try equityInterval.map { try OptionParsing.duration($0, option: "--equity-interval") }
    }

    /// start and encode-request: --param sets a built-in's parameters, as numbers.
    func validateNumericParams() throws {
        if strategyFile != nil && !params.isEmpty {
            throw ValidationError(
                "--param overrides a built-in strategy's parameters; a strategy file sets its own params")
        }
        _ = try OptionParsing.numericPairs(params, option: "--param")
    }

    /// The request these options describe. Reads --strategy-file. Without
    /// `withParams`, --param is left out (sweep makes its axes of it).
    func request(withParams: Bool = true) throws -> StartBacktestRequest {
        let spec: StrategySpec
        if let strategyFile {
            spec = StrategySpec(kind: .rules(try StrategyFile.load(path: strategyFile)))
        } else {
            spec = StrategySpec(
                kind: .builtin(
                    BuiltinStrategy(
                        name: strategy ?? "default",
                        params: withParams ? try OptionParsing.numericPairs(params, option: "--param") : [:]))
            )
        }
        var sizingSpec: Sizing?
        if let sizing {
            sizingSpec = try OptionParsing.sizing(sizing, fractional: fractional)
        } else if fractional {
            sizingSpec = Sizing(mode: .unspecified, value: 0, fractionalUnits: true)
        }
        return StartBacktestRequest(
            symbol: symbol,
            timeframe: timeframe,
            startTime: try OptionParsing.timestamp(from, option: "--from"),
            endTime: try OptionParsing.timestamp(to, option: "--to"),
            initialCapital: capital,
            strategy: spec,
            costs: Costs(commissionFixed: commissionFixed, commissionRate: commissionRate, slippageBps: slippageBps),
            fillMode: fillOnClose ? .onClose : .unspecified,
            sizing: sizingSpec,
            accelerationFactor: acceleration,
            equitySampleInterval: try equityInterval.map {
                try OptionParsing.duration($0, option: "--equity-interval")
            },
            clientRequestID: requestID,
            labels: try OptionParsing.pairs(labels, option: "--label"),
            leaveOpenAtEnd: leaveOpen
        )
    }

    /// The strategy file format, for --help.
    static let strategyFileHelp = """

        Strategy files (--strategy-file) describe a rule strategy, as JSON:
          {"name": "SMA cross",
           "rules": [
            {"name": "buy", "kind": "entry_long",
             "expression": "crosses_above(sma(close, $fast), sma(close, $slow))"},
            {"name": "sell", "kind": "exit_long",
             "expression": "crosses_below(sma(close, $fast), sma(close, $slow))"}],
           "stop_loss_pct": 5, "take_profit_pct": 10, "trailing_stop_pct": 0,
           "params": {"fast": 10, "slow": 20}}
        or as text, one KEY: VALUE a line (# starts a comment):
          name: SMA cross
          param fast: 10
          param slow: 20
          stop_loss_pct: 5
          entry_long buy: crosses_above(sma(close, $fast), sma(close, $slow))
          exit_long sell: crosses_below(sma(close, $fast), sma(close, $slow))
        Rule kinds: entry_long, exit_long, entry_short, exit_short. Percentages are in
        percent (5 = 5%); 0 = none. Expressions use open high low close volume price
        size, sma ema wma rsi macd bbands atr roc stddev highest lowest vwap,
        crosses_above/crosses_below, and/or/not, lookback x[n] and $params; the
        server reports an error's position (exit 13, INVALID_ARGUMENT).
        """
}
