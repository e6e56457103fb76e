import ArgumentParser
import BacktestProto

/// `backtest trades ID`: GetTrades as a table, CSV or JSON lines.
struct Trades: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Print a session's trades: a table, --csv, or --json (one trade per line).",
        discussion: """
            CSV and JSON carry every field at full precision (times ISO 8601 UTC; JSON is
            each Trade's proto3 JSON) and are written as the chunks arrive; the table
            waits for all of them to align.

            Examples:
              backtest trades 3f2a9c
              backtest trades 3f2a9c --csv > trades.csv
              backtest trades 3f2a9c --json | jq -s 'map(.pnl) | add'
            """
    )

    @Argument(help: "The session id.") var id: String
    @Flag(help: "CSV with a header row.") var csv = false
    @Option(
        help: ArgumentHelp("Trades per message from the server (0 = its default, 1000; at most 10000).", valueName: "n")
    )
    var chunkSize: UInt32 = 0
    @OptionGroup var global: GlobalOptions

    func validate() throws {
        if csv && global.json { throw ValidationError("--csv and --json exclude each other") }
    }

    func run() async throws {
        try await global.run { client, out in
            var rows = RowStream<Trade>(out: out, csv: csv, csvHeader: CSV.tradeHeader, csvRow: CSV.trade)
            try await client.service.getTrades(GetTradesRequest(sessionID: id, chunkSize: chunkSize)) {
                try rows.add($0.trades)
            }
            rows.finish()
            guard !rows.streamed else { return ExitCodes.ok }
            let all = rows.rows
            guard !all.isEmpty else {
                Console.line("no trades")
                return ExitCodes.ok
            }
            Console.line(Self.table(all).render(style: out.style))
            let pnl = all.reduce(0) { $0 + $1.pnl }
            Console.line("\(all.count) trades, P&L \(out.style.signed(Format.signed(pnl), pnl))")
            return ExitCodes.ok
        }
    }

    static func table(_ trades: [Trade]) -> Table {
        var table = Table([
            .init("#", .right), .init("SIDE"), .init("QTY", .right), .init("ENTRY TIME"), .init("ENTRY", .right),
            .init("EXIT TIME"), .init("EXIT", .right), .init("P&L", .right), .init("RETURN", .right),
            .init("COMM", .right), .init("RULES"),
        ])
        for t in trades {
            let qty =
                t.quantity == t.quantity.rounded()
                ? Format.number(t.quantity, decimals: 0) : Format.number(t.quantity, decimals: 6)
            table.append([
                .init(String(t.tradeNumber)), .init(t.side.name), .init(qty),
                .init(t.entryTime.map(TimeDisplay.compact) ?? Format.undefined), .init(Format.number(t.entryPrice)),
                .init(t.exitTime.map(TimeDisplay.compact) ?? "open"),
                .init(t.exitTime == nil ? Format.undefined : Format.number(t.exitPrice)),
                .init(Format.signed(t.pnl), t.pnl > 0 ? .green : t.pnl < 0 ? .red : nil),
                .init(Format.percent(t.returnPct)), .init(Format.number(t.commission)),
                .init(t.entryRule + (t.exitRule.isEmpty ? "" : " → " + t.exitRule)),
            ])
        }
        return table
    }
}
