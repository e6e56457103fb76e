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

            --heatmap N1,N2 draws the statistic (the objective, or --sort's) over two
            axes instead of the table: rows N1, columns N2, each cell the best value
            over the other axes, shaded by quarter of the range (colours only on a
            terminal). It reads every result.

            A walk-forward shows its windows (in-sample and out-of-sample ranges, the
            parameters chosen, the in-sample objective, out-of-sample figures) and the
            stitched out-of-sample statistics.

            Examples:
              backtest sweep-show ID
              backtest sweep-show ID --sort max_drawdown_pct --limit 50
              backtest sweep-show ID --heatmap n1,n2
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
    @Option(help: ArgumentHelp("Draw the statistic over these two axes.", valueName: "n1,n2")) var heatmap: String?
    @OptionGroup var global: GlobalOptions

    func validate() throws {
        if !(1...1000).contains(limit) { throw ValidationError("--limit: must be 1 to 1000") }
        _ = try heatmapAxes()
    }

    /// The two axes of --heatmap, or nil without it.
    func heatmapAxes() throws -> (String, String)? {
        guard let heatmap else { return nil }
        let names = heatmap.split(separator: ",", omittingEmptySubsequences: false).map {
            $0.trimmingCharacters(in: .whitespaces)
        }
        guard names.count == 2, !names[0].isEmpty, !names[1].isEmpty, names[0] != names[1] else {
            throw ValidationError("--heatmap: expected two different axes, e.g. n1,n2; got '\(heatmap)'")
        }
        return (names[0], names[1])
    }

    func run() async throws {
        try await global.run { client, out in
            let axes = try heatmapAxes()
            var request = GetSweepRequest(
                sweepID: id, sortBy: sort, ascending: ascending, pageSize: axes == nil ? limit : 1000,
                pageToken: pageToken)
            var results: [SweepResult] = []
            var sweep: Sweep?
            var walkForward: WalkForwardResult?
            var next = ""
            repeat {
                let page = try await client.service.getSweep(request)
                sweep = page.sweep
                walkForward = page.walkForward
                results += page.results
                next = page.nextPageToken
                request.pageToken = next
            } while (all || axes != nil) && !next.isEmpty
            if out.json {
                try out.emit(
                    GetSweepResponse(sweep: sweep, results: results, nextPageToken: next, walkForward: walkForward))
                return ExitCodes.ok
            }
            guard let sweep else { throw RPCError(.internal, "GetSweep answered without a sweep") }
            Console.line(SweepView.summary(sweep, style: out.style))
            if let walkForward {
                Console.line()
                Console.line(WalkForwardView.render(walkForward, objective: sweep.objective, style: out.style))
                if axes != nil { throw CLIError("--heatmap: a walk-forward keeps no results per combination") }
                return ExitCodes.ok
            }
            if let (rows, columns) = axes {
                let statistic = sort.isEmpty ? sweep.objective : sort
                let maximize = sort.isEmpty ? sweep.direction != .minimize : !ascending
                let map = Heatmap(rowAxis: rows, columnAxis: columns, statistic: statistic, maximize: maximize)
                guard let text = map.render(results, style: out.style) else {
                    let have = results.first?.params.map(\.name).joined(separator: ", ") ?? "none"
                    throw CLIError("--heatmap: the sweep's axes are \(have)")
                }
                Console.line()
                Console.line(text)
                return ExitCodes.ok
            }
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
