import ArgumentParser
import BacktestProto

/// `backtest sweep`: StartSweep, and with --watch the progress to the end and the
/// ranked results.
struct SweepCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sweep",
        abstract: "Run a backtest for every combination of parameter values, ranked by a statistic.",
        discussion: """
            Every option of `start` describes the backtest each combination runs; each
            --param NAME=VALUES makes an axis: LO..HI (steps of 1), LO..HI:STEP, a list
            A,B,C, or one value. The sweep runs the axes' product, less the combinations
            a --where condition excludes (all must hold: < <= > >= == !=, + - * /,
            and/&&, or/||, not), or --sample N of them drawn with --seed. The best --top
            are stored in full as sessions (`backtest show`, `trades`, `equity`).

            Prints the sweep's id (alone when piped). With --watch, a live progress bar
            on a terminal, then the best --limit combinations; exits 0 completed, 2
            failed, 3 stopped. With --json, the response (and with --watch one event a
            line, then the GetSweep response).

            Examples:
              backtest sweep --symbol GOOG --timeframe 1d --from 2004-08-19 \\
                  --to 2013-03-02 --strategy sma_cross --param n1=5..30 \\
                  --param n2=20..100:2 --where 'n1 < n2' --maximize sharpe_ratio --watch
              backtest sweep ... --param n1=5,10,20 --minimize max_drawdown_pct
              backtest sweep ... --param n1=2..200 --param n2=10..400 --sample 5000 --seed 7

            """ + StartOptions.strategyFileHelp
    )

    @OptionGroup var options: StartOptions
    @OptionGroup var sweep: SweepOptions
    @Option(help: "How many of the best to store in full as sessions (default 5, at most 100).") var top: UInt32?
    @Option(help: "With --watch: how many of the best to print (default 20).") var limit: UInt32 = 20
    @OptionGroup var global: GlobalOptions

    func validate() throws {
        try sweep.validate(params: options.params)
        if !(1...1000).contains(limit) { throw ValidationError("--limit: must be 1 to 1000") }
    }

    func request() throws -> StartSweepRequest {
        var r = try sweep.request(options)
        r.topK = top ?? 0
        return r
    }

    func run() async throws {
        try await global.run { client, out in
            let request = try request()
            let minInterval = try sweep.minInterval()
            let response = try await client.service.startSweep(request)
            try sweep.announce(response, noun: "sweep", counting: "combinations", out: out)
            guard sweep.watch else { return ExitCodes.ok }
            let objective = sweep.objective
            let last = try await SweepFollower.follow(
                response.sweepID, objective: objective, client: client, out: out, minInterval: minInterval)
            let page = try await client.service.getSweep(GetSweepRequest(sweepID: response.sweepID, pageSize: limit))
            if out.json {
                try out.emit(page)
            } else if !page.results.isEmpty {
                Console.line()
                Console.line(
                    SweepView.table(page.results, sortBy: objective, style: out.style).render(style: out.style))
            }
            return ExitCodes.forSession(last.status)
        }
    }
}
