import ArgumentParser
import BacktestProto

/// `backtest list`: ListActive.
struct ListActive: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "list",
        abstract: "List the sessions that are waiting or running, with their progress.",
        discussion: """
            Examples:
              backtest list
              backtest list --symbol GOOG --json
            """
    )

    @Option(help: "Only sessions on this symbol.") var symbol: String = ""
    @OptionGroup var global: GlobalOptions

    func run() async throws {
        try await global.run { client, out in
            let response = try await client.service.listActive(ListActiveRequest(symbol: symbol))
            if out.json {
                try out.emit(response)
                return ExitCodes.ok
            }
            guard !response.sessions.isEmpty else {
                Console.line("no active sessions")
                return ExitCodes.ok
            }
            var table = Table([
                .init("SESSION"), .init("STATUS"), .init("SYMBOL"), .init("TF"), .init("STRATEGY"),
                .init("PROGRESS", .right), .init("SIM TIME"), .init("EQUITY", .right), .init("P&L", .right),
                .init("TRADES", .right), .init("CREATED"), .init("WAITING FOR"),
            ])
            for s in response.sessions {
                let p = s.progress ?? ProgressEvent()
                let pnl = p.realizedPnl + p.unrealizedPnl
                table.append([
                    .init(s.sessionID), .init(s.status.name, Style.color(for: s.status.name)), .init(s.symbol),
                    .init(s.timeframe), .init(s.strategyName), .init(Format.percent(p.progressPct, decimals: 1)),
                    .init(p.simTime.map(TimeDisplay.minute) ?? Format.undefined), .init(Format.number(p.equity)),
                    .init(Format.signed(pnl), pnl > 0 ? .green : pnl < 0 ? .red : nil), .init(String(p.trades)),
                    .init(s.createdAt.map(TimeDisplay.compact) ?? Format.undefined),
                    .init(s.waiting.isEmpty ? "-" : s.waiting),
                ])
            }
            Console.line(table.render(style: out.style))
            return ExitCodes.ok
        }
    }
}
