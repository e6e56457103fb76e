import ArgumentParser
import BacktestProto

/// `backtest walk-forward`: StartSweep with a walk-forward, and with --watch the
/// progress to the end, the windows and the stitched out-of-sample statistics.
struct WalkForwardCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "walk-forward",
        abstract:
            "Optimise on rolling or anchored in-sample windows and run each winner on the next out-of-sample one.",
        discussion: """
            The options of `sweep` describe the backtest, the axes (--param), the
            constraints and the objective. The range is cut into --windows
            out-of-sample windows with an in-sample part --in-sample-ratio times as
            long before each (default 3), or by --in-sample and --out-of-sample
            lengths (90d, 12h, ...: as many windows as fit). Rolling by default: every
            in-sample window has the same length; --anchored: all start at --from.
            Each in-sample window is swept, and its best combination run on the
            out-of-sample window after it, with the equity the previous window ended
            with. The out-of-sample runs are stitched into one session labelled
            sweep=ID and walk_forward=oos (`backtest show`, `trades`, `equity`).

            Prints the id (alone when piped). With --watch, a live progress bar on a
            terminal, then a row per window (ranges, the parameters chosen, the
            in-sample objective, out-of-sample return, Sharpe, drawdown and trades) and
            the stitched statistics; exits 0 completed, 2 failed, 3 stopped. With
            --json, the response (and with --watch one event a line, then the
            GetSweep response with walkForward). `backtest sweep-show ID` shows it again.

            Examples:
              backtest walk-forward --symbol GOOG --timeframe 1d --from 2004-08-19 \\
                  --to 2013-03-02 --strategy sma_cross --param n1=5..30:5 \\
                  --param n2=20..100:10 --where 'n1 < n2' --windows 5 --watch
              backtest walk-forward ... --in-sample 730d --out-of-sample 180d --anchored

            """ + StartOptions.strategyFileHelp
    )

    @OptionGroup var options: StartOptions
    @OptionGroup var sweep: SweepOptions
    @Option(help: "Out-of-sample windows (1-100), with --in-sample-ratio.") var windows: UInt32?
    @Option(help: "In-sample length over out-of-sample length (default 3).") var inSampleRatio: Double?
    @Option(help: ArgumentHelp("In-sample length (90d, 12h), with --out-of-sample.", valueName: "duration"))
    var inSample: String?
    @Option(help: ArgumentHelp("Out-of-sample length, with --in-sample.", valueName: "duration"))
    var outOfSample: String?
    @Flag(help: "Every in-sample window starts at --from (default: rolling windows of one length).")
    var anchored = false
    @OptionGroup var global: GlobalOptions

    func validate() throws {
        try sweep.validate(params: options.params)
        if windows == nil && inSample == nil && outOfSample == nil {
            throw ValidationError("give --windows N (with --in-sample-ratio), or --in-sample and --out-of-sample")
        }
        _ = try walkForward()
    }

    func walkForward() throws -> WalkForward {
        var w = WalkForward()
        w.windows = windows ?? 0
        w.inSampleRatio = inSampleRatio ?? 0
        w.anchored = anchored
        w.inSampleLength = try inSample.map { try OptionParsing.duration($0, option: "--in-sample") }
        w.outOfSampleLength = try outOfSample.map { try OptionParsing.duration($0, option: "--out-of-sample") }
        return w
    }

    func run() async throws {
        try await global.run { client, out in
            var request = try sweep.request(options)
            request.walkForward = try walkForward()
            let response = try await client.service.startSweep(request)
            try sweep.announce(response, noun: "walk-forward", counting: "in-sample runs", out: out)
            guard sweep.watch else { return ExitCodes.ok }
            let last = try await SweepFollower.follow(
                response.sweepID, objective: sweep.objective, client: client, out: out,
                minInterval: try sweep.minInterval())
            let page = try await client.service.getSweep(GetSweepRequest(sweepID: response.sweepID, pageSize: 1))
            if out.json {
                try out.emit(page)
            } else if let result = page.walkForward, !result.windows.isEmpty {
                Console.line()
                Console.line(WalkForwardView.render(result, objective: sweep.objective, style: out.style))
            }
            return ExitCodes.forSession(last.status)
        }
    }
}
