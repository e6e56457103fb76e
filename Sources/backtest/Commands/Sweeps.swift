import ArgumentParser
import BacktestProto

/// `backtest sweeps`: ListSweeps, newest first, paged.
struct Sweeps: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "List stored sweeps, newest first.",
        discussion: """
            Examples:
              backtest sweeps
              backtest sweeps --status running --json
            """
    )

    @Option(
        help: ArgumentHelp(
            "Only this status (repeatable): started, running, completed, failed, stopped.", valueName: "status"))
    var status: [String] = []
    @Option(help: "Sweeps per page (1-1000; default 100).") var limit: UInt32?
    @Option(help: "Continue from this page token.") var pageToken: String = ""
    @Flag(help: "Fetch every page.") var all = false
    @OptionGroup var global: GlobalOptions

    func validate() throws {
        if let limit, !(1...1000).contains(limit) { throw ValidationError("--limit: must be 1 to 1000") }
    }

    func run() async throws {
        try await global.run { client, out in
            var request = ListSweepsRequest(
                statuses: try OptionParsing.statuses(status, option: "--status"), pageSize: limit ?? 0,
                pageToken: pageToken)
            var sweeps: [Sweep] = []
            var next = ""
            repeat {
                let page = try await client.service.listSweeps(request)
                sweeps += page.sweeps
                next = page.nextPageToken
                request.pageToken = next
            } while all && !next.isEmpty
            if out.json {
                try out.emit(ListSweepsResponse(sweeps: sweeps, nextPageToken: next))
                return ExitCodes.ok
            }
            if sweeps.isEmpty {
                Console.line("no sweeps")
            } else {
                Console.line(Self.table(sweeps).render(style: out.style))
            }
            if !next.isEmpty { Console.err("more sweeps: --page-token \(next) (or --all)") }
            return ExitCodes.ok
        }
    }

    /// A row per sweep: id, status, what it swept, how far, its best.
    static func table(_ sweeps: [Sweep]) -> Table {
        var table = Table([
            .init("SWEEP"), .init("STATUS"), .init("SYMBOL"), .init("TF"), .init("STRATEGY"),
            .init("OBJECTIVE"), .init("DONE", .right), .init("TOTAL", .right), .init("BEST", .right),
            .init("CREATED"),
        ])
        for s in sweeps {
            let base = s.request?.backtest
            // A walk-forward's best is only its last window's: its windows say more.
            let walkForward = s.request?.walkForward != nil
            table.append([
                .init(s.sweepID), .init(s.status.name, Style.color(for: s.status.name)),
                .init(base?.symbol ?? ""), .init(base?.timeframe ?? ""),
                .init(SessionView.strategyName(base?.strategy)),
                .init(
                    (walkForward ? "walk-forward, " : "") + (s.direction == .minimize ? "min " : "max ")
                        + s.objective), .init(String(s.done)), .init(String(s.total)),
                .init(
                    s.bestCombination >= 0 && !walkForward
                        ? Format.number(s.bestValue, decimals: 3) : Format.undefined),
                .init(s.createdAt.map(TimeDisplay.compact) ?? Format.undefined),
            ])
        }
        return table
    }
}
