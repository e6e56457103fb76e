import ArgumentParser
import BacktestProto

/// `backtest data`: ListMarketData.
struct MarketData: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "data",
        abstract: "List the stored market data series: symbol, kind, timeframe, range, rows.",
        discussion: """
            Examples:
              backtest data
              backtest data --symbol GOOG --json
            """
    )

    @Option(help: "Only this symbol.") var symbol: String = ""
    @OptionGroup var global: GlobalOptions

    func run() async throws {
        try await global.run { client, out in
            let response = try await client.service.listMarketData(ListMarketDataRequest(symbol: symbol))
            if out.json {
                try out.emit(response)
                return ExitCodes.ok
            }
            guard !response.series.isEmpty else {
                Console.line("no market data (load some with: backtest import FILE --symbol S)")
                return ExitCodes.ok
            }
            var table = Table([
                .init("SYMBOL"), .init("KIND"), .init("TIMEFRAME"), .init("FIRST"), .init("LAST"),
                .init("ROWS", .right),
            ])
            for s in response.series {
                table.append([
                    .init(s.symbol), .init(s.kind.name), .init(s.timeframe.isEmpty ? Format.undefined : s.timeframe),
                    .init(s.firstTime.map(TimeDisplay.compact) ?? Format.undefined),
                    .init(s.lastTime.map(TimeDisplay.compact) ?? Format.undefined), .init(String(s.rows)),
                ])
            }
            Console.line(table.render(style: out.style))
            return ExitCodes.ok
        }
    }
}
