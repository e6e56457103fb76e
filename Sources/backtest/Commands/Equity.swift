import ArgumentParser
import BacktestProto

/// `backtest equity ID`: GetEquityCurve as a table, CSV or JSON lines.
struct Equity: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Print a session's equity curve: a table, --csv, or --json (one point per line).",
        discussion: """
            Examples:
              backtest equity 3f2a9c --from 2010-01-01 --to 2011-01-01
              backtest equity 3f2a9c --csv > equity.csv
              backtest equity 3f2a9c --json | jq -s 'map(.drawdownPct) | min'
            """
    )

    @Argument(help: "The session id.") var id: String
    @Option(help: ArgumentHelp("Only points at or after this time (UTC).", valueName: "date")) var from: String?
    @Option(help: ArgumentHelp("Only points before this time (UTC).", valueName: "date")) var to: String?
    @Flag(help: "CSV with a header row.") var csv = false
    @Option(
        help: ArgumentHelp("Points per message from the server (0 = its default, 5000; at most 50000).", valueName: "n")
    )
    var chunkSize: UInt32 = 0
    @OptionGroup var global: GlobalOptions

    func validate() throws {
        if csv && global.json { throw ValidationError("--csv and --json exclude each other") }
    }

    func run() async throws {
        try await global.run { client, out in
            let request = GetEquityCurveRequest(
                sessionID: id,
                startTime: try from.map { try OptionParsing.timestamp($0, option: "--from") },
                endTime: try to.map { try OptionParsing.timestamp($0, option: "--to") },
                chunkSize: chunkSize)
            var rows = RowStream<EquityPoint>(out: out, csv: csv, csvHeader: CSV.equityHeader, csvRow: CSV.equity)
            try await client.service.getEquityCurve(request) { try rows.add($0.points) }
            rows.finish()
            guard !rows.streamed else { return ExitCodes.ok }
            let all = rows.rows
            guard !all.isEmpty else {
                Console.line("no equity points")
                return ExitCodes.ok
            }
            var table = Table([
                .init("TIME"), .init("EQUITY", .right), .init("CASH", .right), .init("POSITION", .right),
                .init("DRAWDOWN", .right),
            ])
            for p in all {
                table.append([
                    .init(p.time.map(TimeDisplay.compact) ?? Format.undefined), .init(Format.number(p.equity)),
                    .init(Format.number(p.cash)), .init(Format.shortest(p.positionSize)),
                    .init(Format.percent(p.drawdownPct), p.drawdownPct < 0 ? .red : nil),
                ])
            }
            Console.line(table.render(style: out.style))
            Console.line(
                "\(all.count) points  " + Sparkline.line(all.map(\.equity), width: max(out.terminal.width - 20, 10)))
            return ExitCodes.ok
        }
    }
}
