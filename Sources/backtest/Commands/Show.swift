import ArgumentParser
import BacktestProto

/// `backtest show ID`: GetSession, and the equity curve drawn as a block chart.
struct Show: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Show a session: its request, status, statistics and equity curve.",
        discussion: """
            The equity curve (GetEquityCurve) is drawn as a block chart the width of the
            terminal. With --json: {"session": {...}} with the statistics, no curve
            (use `backtest equity ID --json` for the points).

            Examples:
              backtest show 3f2a9c
              backtest show 3f2a9c --json | jq .session.statistics.sharpeRatio
            """
    )

    @Argument(help: "The session id.") var id: String
    @Option(help: "Height of the equity chart in rows (0 = no chart).") var chartHeight: Int = 8
    @OptionGroup var global: GlobalOptions

    func validate() throws {
        if chartHeight < 0 || chartHeight > 100 { throw ValidationError("--chart-height: 0 to 100") }
    }

    func run() async throws {
        try await global.run { client, out in
            let session = try await client.session(id)
            if out.json {
                try out.emit(GetSessionResponse(session: session))
                return ExitCodes.ok
            }
            Console.line(SessionView.header(session, style: out.style))
            Console.line()
            if let statistics = session.statistics {
                Console.line(SessionView.statistics(statistics, style: out.style))
            } else {
                Console.line("no statistics (status \(session.status.name))")
            }
            guard chartHeight > 0 else { return ExitCodes.ok }
            var points: [EquityPoint] = []
            try await client.service.getEquityCurve(GetEquityCurveRequest(sessionID: id)) { points += $0.points }
            guard !points.isEmpty else { return ExitCodes.ok }
            Console.line()
            Console.line("Equity (\(points.count) points)")
            let width = min(out.terminal.width, 160)
            for line in EquityChart.render(points, width: width - 1, height: chartHeight, style: out.style) {
                Console.line(line)
            }
            return ExitCodes.ok
        }
    }
}
