import ArgumentParser
import BacktestProto

/// `backtest sessions`: ListSessions, filtered and paged.
struct Sessions: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "List stored sessions, newest first, filtered and paged.",
        discussion: """
            Without --all, one page (--limit, default 100); the next page's token is
            printed on stderr (and as nextPageToken with --json).

            Examples:
              backtest sessions --status completed --symbol GOOG
              backtest sessions --status failed --status stopped --since 2025-01-01
              backtest sessions --label team=quant --all --json | jq -r '.sessions[].sessionId'
            """
    )

    @Option(
        help: ArgumentHelp(
            "Only this status (repeatable): started, running, completed, failed, stopped.", valueName: "status"))
    var status: [String] = []
    @Option(help: "Only this symbol.") var symbol: String = ""
    @Option(
        name: .customLong("label"),
        help: ArgumentHelp("Only sessions with this label (repeatable).", valueName: "key=value"))
    var labels: [String] = []
    @Option(help: ArgumentHelp("Only sessions created at or after this time (UTC).", valueName: "date")) var since:
        String?
    @Option(help: ArgumentHelp("Only sessions created before this time (UTC).", valueName: "date")) var until: String?
    @Option(help: "Sessions per page (1-1000; default 100).") var limit: UInt32?
    @Option(help: "Continue from this page token.") var pageToken: String = ""
    @Flag(help: "Fetch every page.") var all = false
    @OptionGroup var global: GlobalOptions

    func validate() throws {
        if let limit, !(1...1000).contains(limit) { throw ValidationError("--limit: must be 1 to 1000") }
    }

    func request() throws -> ListSessionsRequest {
        ListSessionsRequest(
            statuses: try OptionParsing.statuses(status, option: "--status"),
            symbol: symbol,
            createdAfter: try since.map { try OptionParsing.timestamp($0, option: "--since") },
            createdBefore: try until.map { try OptionParsing.timestamp($0, option: "--until") },
            labels: try OptionParsing.pairs(labels, option: "--label"),
            pageSize: limit ?? 0,
            pageToken: pageToken)
    }

    func run() async throws {
        try await global.run { client, out in
            var request = try request()
            var sessions: [Session] = []
            var next = ""
            repeat {
                let page = try await client.service.listSessions(request)
                sessions += page.sessions
                next = page.nextPageToken
                request.pageToken = next
            } while all && !next.isEmpty
            if out.json {
                // Every page in one response, with the last page's token.
                try out.emit(ListSessionsResponse(sessions: sessions, nextPageToken: next))
                return ExitCodes.ok
            }
            if sessions.isEmpty {
                Console.line("no sessions")
            } else {
                Console.line(Self.table(sessions).render(style: out.style))
            }
            if !next.isEmpty { Console.err("more sessions: --page-token \(next) (or --all)") }
            return ExitCodes.ok
        }
    }

    static func table(_ sessions: [Session]) -> Table {
        var table = Table([
            .init("SESSION"), .init("STATUS"), .init("SYMBOL"), .init("TF"), .init("STRATEGY"), .init("FROM"),
            .init("TO"),
            .init("PROGRESS", .right), .init("P&L", .right), .init("RETURN%", .right), .init("SHARPE", .right),
            .init("TRADES", .right), .init("WIN%", .right), .init("CREATED"),
        ])
        for s in sessions {
            let r = s.request ?? StartBacktestRequest()
            table.append([
                .init(s.sessionID), .init(s.status.name, Style.color(for: s.status.name)), .init(r.symbol),
                .init(r.timeframe),
                .init(SessionView.strategyName(r.strategy)),
                .init(r.startTime.map(TimeDisplay.compact) ?? Format.undefined),
                .init(r.endTime.map(TimeDisplay.compact) ?? Format.undefined),
                .init(Format.percent(s.progressPct, decimals: 1)),
                .init(Format.signed(s.finalPnl), s.finalPnl > 0 ? .green : s.finalPnl < 0 ? .red : nil),
                .init(s.statistics.map { Format.number($0.returnPct) } ?? Format.undefined),
                .init(s.statistics.map { Format.number($0.sharpeRatio, decimals: 3) } ?? Format.undefined),
                .init(String(s.totalTrades)), .init(Format.percent(s.winRatePct, decimals: 1)),
                .init(s.createdAt.map(TimeDisplay.compact) ?? Format.undefined),
            ])
        }
        return table
    }
}
