import ArgumentParser
import BacktestProto
import Foundation

/// `backtest import FILE`: ImportMarketData, streaming the CSV file in chunks.
struct Import: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Import candles or ticks from a CSV file (all or nothing).",
        discussion: """
            The file is streamed in chunks (client streaming, IMPORT_FORMAT_CSV) with a
            progress bar by bytes sent on a terminal. Candles: `date,Open,High,Low,Close,Volume`
            (a date index, as backtesting.py's GOOG.csv) or `time,open,high,low,close,volume`;
            ticks: `time,price,size`. Times are ISO 8601 (UTC) or epoch seconds/ms/us.
            On a bad row nothing is stored and the server names the line and column
            (exit 13, INVALID_ARGUMENT).

            Examples:
              backtest import GOOG.csv --symbol GOOG --timeframe 1d
              backtest import btc-trades.csv --symbol BTCUSD --kind ticks
              backtest import GOOG-2013.csv --symbol GOOG --replace
            """
    )

    @Argument(help: "The CSV file.") var file: String
    @Option(help: "The symbol to store the series under.") var symbol: String
    @Option(help: "candles or ticks.") var kind: String = "candles"
    @Option(help: "Candle interval (1m, 1h, 1d, ...); not used for ticks.") var timeframe: String = "1d"
    @Flag(help: "Replace stored rows in the imported time range instead of failing on them.") var replace = false
    @Option(help: "Bytes per message, in KiB.") var chunkKib: Int = 256
    @OptionGroup var global: GlobalOptions

    func validate() throws {
        guard DataKind.parse(kind) != nil else {
            throw ValidationError("--kind: expected \(DataKind.choices), got '\(kind)'")
        }
        if !(1...3072).contains(chunkKib) { throw ValidationError("--chunk-kib: 1 to 3072") }
    }

    func run() async throws {
        try await global.run { client, out in
            let dataKind = DataKind.parse(kind)!
            guard let handle = FileHandle(forReadingAtPath: file) else { throw CLIError("\(file): cannot open") }
            defer { try? handle.close() }
            let total = (try? FileManager.default.attributesOfItem(atPath: file)[.size] as? NSNumber)?.int64Value ?? 0
            let header = ImportHeader(
                symbol: symbol, kind: dataKind, timeframe: dataKind == .ticks ? "" : timeframe,
                format: .csv, sourceName: URL(fileURLWithPath: file).lastPathComponent,
                replaceExisting: replace)
            var sent: Int64 = 0
            var terminal = out.terminal
            let started = ContinuousClock.now
            var lastDraw = ContinuousClock.now - .seconds(1)
            func draw() {
                let elapsed = ContinuousClock.now - started
                let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
                terminal.refreshWidth(environment: [:])
                Console.redraw(
                    ProgressBar.bytesLine(
                        sent: sent, total: total, seconds: seconds, width: terminal.width - 1, style: out.style))
                lastDraw = ContinuousClock.now
            }
            let chunkSize = chunkKib * 1024
            let response = try await client.importCSV(header: header) {
                let data: Data?
                do {
                    data = try handle.read(upToCount: chunkSize)
                } catch {
                    throw CLIError("\(file): \(error.localizedDescription)")
                }
                guard let data, !data.isEmpty else { return nil }
                sent += Int64(data.count)
                if out.live && ContinuousClock.now - lastDraw > .milliseconds(100) { draw() }
                return [UInt8](data)
            }
            if out.live {
                draw()
                Console.line()
            }
            if out.json {
                try out.emit(response)
            } else {
                let what = response.kind == .ticks ? "ticks" : "candles"
                let series = response.timeframe.isEmpty ? response.symbol : "\(response.symbol) \(response.timeframe)"
                var line = "imported \(response.rowsImported) \(what) into \(series)"
                if let a = response.firstTime, let b = response.lastTime {
                    line += ": \(TimeDisplay.compact(a)) .. \(TimeDisplay.compact(b))"
                }
                Console.line(line)
            }
            return ExitCodes.ok
        }
    }
}
