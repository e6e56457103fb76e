import ArgumentParser
import BacktestProto
import RPC

/// `backtest sweep-show ID`: GetSweep, the sweep and a page of its results ranked by
/// any statistic.
struct SweepShow: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sweep-show",
        abstract: "Show a sweep and its results, ranked by its objective or any statistic.",
        discussion: """
            Without --sort, best first by the sweep's objective; with --sort STATISTIC,
            highest first (--ascending: lowest first). Combinations without the statistic
            (undefined, or failed) come last.

            Examples:
              backtest sweep-show ID
              backtest sweep-show ID --sort max_drawdown_pct --limit 50
              backtest sweep-show ID --all --json | jq '.results[].statistics.sharpeRatio'
            """
    )

    @Argument(help: "The sweep id.") var id: String
    @Option(help: ArgumentHelp("Rank by this statistic (sharpe_ratio, return_pct, ...).", valueName: "statistic"))
    var sort: String = ""
    @Flag(help: "With --sort: lowest first.") var ascending = false
    @Option(help: "Results per page (1-1000; default 20).") var limit: UInt32 = 20
    @Option(help: "Continue from this page token.") var pageToken: String = ""
    @Flag(help: "Fetch every page.") var all = false
    @OptionGroup var global: GlobalOptions

    func validate() throws {
        if !(1...1000).contains(limit) { throw ValidationError("--limit: must be 1 to 1000") }
    }

    func run() async throws {
        try await global.run { client, out in
            var request = GetSweepRequest(
                sweepID: id, sortBy: sort, ascending: ascending, pageSize: limit, pageToken: pageToken)
            var results: [SweepResult] = []
            var sweep: Sweep?
            var next = ""
            repeat {
                let page = try await client.service.getSweep(request)
                sweep = page.sweep
                results += page.results
                next = page.nextPageToken
                request.pageToken = next
            } while all && !next.isEmpty
            if out.json {
                try out.emit(GetSweepResponse(sweep: sweep, results: results, nextPageToken: next))
                return ExitCodes.ok
            }
            guard let sweep else { throw RPCError(.internal, "GetSweep answered without a sweep") }
            Console.line(SweepView.summary(sweep, style: out.style))
            if !results.isEmpty {
                Console.line()
                let sortBy = sort.isEmpty ? sweep.objective : sort
                Console.line(SweepView.table(results, sortBy: sortBy, style: out.style).render(style: out.style))
            }
            if !next.isEmpty { Console.err("more results: --page-token \(next) (or --all)") }
            return ExitCodes.ok
        }
    }
}
