import ArgumentParser
import BacktestProto

/// `backtest bars SYMBOL`: GetMarketData as a table, CSV (the import format, so a
/// series can be copied to another server) or JSON lines.
struct Bars: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Print a stored series' candles (or --ticks): a table, --csv or --json (one message per line).",
        discussion: """
            Candles come from that interval's stored candles, or are built from stored
            ticks, as a backtest over the same range reads them.

            Examples:
              backtest bars GOOG --timeframe 1d --from 2010-01-01 --to 2011-01-01
              backtest bars GOOG --timeframe 1d --csv > goog.csv   # backtest import reads it back
              backtest bars BTC --ticks --from 2024-03-01 --to 2024-03-02 --json
            """
    )

    @Argument(help: "The symbol.") var symbol: String
    @Option(help: ArgumentHelp("The candle interval: 1m, 1h, 1d, ...", valueName: "interval"))
    var timeframe: String?
    @Flag(help: "Ticks instead of candles.") var ticks = false
    @Option(help: ArgumentHelp("Only rows at or after this time (UTC).", valueName: "date")) var from: String?
    @Option(help: ArgumentHelp("Only rows before this time (UTC).", valueName: "date")) var to: String?
    @Flag(help: "CSV with a header row (Time,Open,High,Low,Close,Volume or Time,Price,Size).") var csv = false
    @Option(
        help: ArgumentHelp("Rows per message from the server (0 = its default, 5000; at most 50000).", valueName: "n"))
    var chunkSize: UInt32 = 0
    @OptionGroup var global: GlobalOptions

    func validate() throws {
        if csv && global.json { throw ValidationError("--csv and --json exclude each other") }
        if ticks && timeframe != nil { throw ValidationError("--ticks takes no --timeframe") }
        if !ticks && timeframe == nil { throw ValidationError("--timeframe is required for candles (or --ticks)") }
    }

    func run() async throws {
        try await global.run { client, out in
            let request = GetMarketDataRequest(
                symbol: symbol, kind: ticks ? .ticks : .candles, timeframe: timeframe ?? "",
                startTime: try from.map { try OptionParsing.timestamp($0, option: "--from") },
                endTime: try to.map { try OptionParsing.timestamp($0, option: "--to") },
                chunkSize: chunkSize)
            var table = Table(
                ticks
                    ? [.init("TIME"), .init("PRICE", .right), .init("SIZE", .right)]
                    : [
                        .init("TIME"), .init("OPEN", .right), .init("HIGH", .right), .init("LOW", .right),
                        .init("CLOSE", .right), .init("VOLUME", .right),
                    ])
            var count = 0
            if csv { Console.line(CSV.row(ticks ? ["Time", "Price", "Size"] : Self.candleHeader)) }
            try await client.service.getMarketData(request) { response in
                if out.json { return try out.emit(response) }
                switch response.rows {
                case .candles(let b)?:
                    count += b.timeUs.count
                    for i in b.timeUs.indices {
                        let time = ProtoTimestamp(microsecondsSinceEpoch: b.timeUs[i])
                        let values = [b.open[i], b.high[i], b.low[i], b.close[i], b.volume[i]]
                        if csv {
                            Console.out(CSV.row([CSV.time(time)] + values.map(CSV.number)) + "\n")
                        } else {
                            table.append([.init(TimeDisplay.compact(time))] + values.map { .init(Format.shortest($0)) })
                        }
                    }
                case .ticks(let b)?:
                    count += b.timeUs.count
                    for i in b.timeUs.indices {
                        let time = ProtoTimestamp(microsecondsSinceEpoch: b.timeUs[i])
                        if csv {
                            Console.out(
                                CSV.row([CSV.time(time), CSV.number(b.price[i]), CSV.number(b.size[i])]) + "\n")
                        } else {
                            table.append([
                                .init(TimeDisplay.compact(time)), .init(Format.shortest(b.price[i])),
                                .init(Format.shortest(b.size[i])),
                            ])
                        }
                    }
                case nil: break
                }
            }
            guard !out.json && !csv else { return ExitCodes.ok }
            guard count > 0 else {
                Console.line("no rows in that range")
                return ExitCodes.ok
            }
            Console.line(table.render(style: out.style))
            Console.line("\(count) \(ticks ? "ticks" : "candles")")
            return ExitCodes.ok
        }
    }

    /// The header `backtest import` reads.
    static let candleHeader = ["Time", "Open", "High", "Low", "Close", "Volume"]
}
