import ArgumentParser
import BacktestProto

/// The options `sweep` and `walk-forward` share: constraints, the objective, a random
/// sample, workers, and following the job.
struct SweepOptions: ParsableArguments {
    @Option(
        name: .customLong("where"),
        help: ArgumentHelp("A condition over the swept parameters (repeatable), e.g. 'n1 < n2'.", valueName: "expr"))
    var constraints: [String] = []
    @Option(help: ArgumentHelp("Rank by this statistic, highest first (default sharpe_ratio).", valueName: "statistic"))
    var maximize: String?
    @Option(help: ArgumentHelp("Rank by this statistic, lowest first.", valueName: "statistic")) var minimize: String?
    @Option(help: "Run N combinations drawn at random instead of all of them.") var sample: UInt32?
    @Option(help: "The seed of --sample.") var seed: UInt64 = 0
    @Option(help: "Combinations computed at once (default: one per core of the server).") var workers: UInt32?
    @Flag(help: "Follow the job until it ends, then print its results.") var watch = false
    @Option(help: ArgumentHelp("With --watch: least time between progress updates (250ms, 1s).", valueName: "duration"))
    var interval: String?

    func validate(params: [String]) throws {
        if maximize != nil && minimize != nil { throw ValidationError("--maximize and --minimize exclude each other") }
        if params.isEmpty { throw ValidationError("--param: give at least one axis, e.g. --param n1=5..30") }
        _ = try SweepAxes.parse(params)
    }

    /// The request with these options and the axes of `options`' --param.
    func request(_ options: StartOptions) throws -> StartSweepRequest {
        var r = StartSweepRequest()
        r.backtest = try options.request(withParams: false)
        r.axes = try SweepAxes.parse(options.params)
        r.constraints = constraints
        r.objective = minimize ?? maximize ?? ""
        r.direction = minimize != nil ? .minimize : .maximize
        r.sampleSize = sample ?? 0
        r.seed = seed
        r.workers = workers ?? 0
        return r
    }

    var objective: String { minimize ?? maximize ?? "sharpe_ratio" }

    func minInterval() throws -> ProtoDuration? {
        try interval.map { try OptionParsing.duration($0, option: "--interval") }
    }

    /// The started job as `sweep` and `walk-forward` print it: the response in JSON, a
    /// line for people (`noun` and what `total` counts), or the bare id for scripts.
    func announce(_ response: StartSweepResponse, noun: String, counting: String, out: OutputContext) throws {
        if out.json {
            try out.emit(response)
        } else if out.terminal.isTTY || watch {
            Console.line(
                "\(noun) \(out.style.paint(response.sweepID, .bold)) \(response.status.name): \(response.total) \(counting)"
            )
            if !watch { Console.line("follow it with: backtest sweep-show \(response.sweepID)") }
        } else {
            Console.line(response.sweepID)
        }
    }
}
