import ArgumentParser
import BacktestProto
import Dashboard
import Foundation

/// `backtest report ID -o FILE`: one self-contained HTML file with the dashboard's
/// charts and tables of a session, readable offline.
struct Report: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Write a session's report: one HTML file with its statistics, charts and trades, for offline use.",
        discussion: """
            The file holds everything it shows (the session, its trades, equity curve and
            bars, the chart library and the drawing code of the dashboard): it opens from
            disk with no network and can be attached to a ticket. The price chart shows
            the bars the session ran over with every entry and exit, and the equity chart
            buy and hold beside it. With --json: {"output", "trades", "points"}.

            Examples:
              backtest report 3f2a9c -o report.html
              backtest report 3f2a9c -o - > report.html
            """
    )

    @Argument(help: "The session id.") var id: String
    @Option(
        name: [.short, .long],
        help: ArgumentHelp("The file to write; - for stdout (default: backtest-report-ID.html).", valueName: "file"))
    var output: String?
    @OptionGroup var global: GlobalOptions

    func run() async throws {
        try await global.run { client, out in
            let session = try await client.session(id)
            var trades: [Trade] = []
            try await client.service.getTrades(GetTradesRequest(sessionID: id)) { trades += $0.trades }
            var points: [EquityPoint] = []
            try await client.service.getEquityCurve(GetEquityCurveRequest(sessionID: id)) { points += $0.points }
            let bars = await Self.bars(client, session)

            // The same proto3 JSON the dashboard reads from the API, so one drawing code serves both.
            let data =
                "{\"session\":\(try OutputContext.jsonLine(session)),"
                + "\"trades\":[\(try trades.map(OutputContext.jsonLine).joined(separator: ","))],"
                + "\"points\":[\(try points.map(OutputContext.jsonLine).joined(separator: ","))],"
                + "\"bars\":[\(try bars.map(OutputContext.jsonLine).joined(separator: ","))]}"
            let symbol = session.request.map { "\($0.symbol) \($0.timeframe)" } ?? ""
            let page = ReportPage(
                title: "Backtest \(symbol) \(SessionView.strategyName(session.request?.strategy)) \(session.sessionID)",
                dataJSON: data)
            let html = page.html()
            let path = output ?? "backtest-report-\(session.sessionID).html"
            if path == "-" {
                FileHandle.standardOutput.write(Data(html.utf8))
                return ExitCodes.ok
            }
            do {
                try Data(html.utf8).write(to: URL(fileURLWithPath: path))
            } catch {
                throw CLIError("cannot write \(path): \(error.localizedDescription)")
            }
            if out.json {
                Console.line(
                    JSONValue.object([
                        .init("output", .string(path)), .init("trades", JSONValue(trades.count)),
                        .init("points", JSONValue(points.count)),
                    ]).text)
            } else {
                Console.line("wrote \(path) (\(trades.count) trades, \(points.count) equity points)")
            }
            return ExitCodes.ok
        }
    }

    /// The candles the session ran over, for its price chart and buy and hold, as the
    /// dashboard fetches them; none for a tick session, one over 500,000 bars, or data
    /// deleted since (the page then draws what the equity curve gives).
    static func bars(_ client: BacktestClient, _ session: Session) async -> [CandleBatch] {
        guard let r = session.request, !r.timeframe.isEmpty, r.timeframe != "tick",
            session.eventsProcessed <= DashboardSite.maxBars
        else { return [] }
        var batches: [CandleBatch] = []
        do {
            try await client.service.getMarketData(
                GetMarketDataRequest(
                    symbol: r.symbol, timeframe: r.timeframe, startTime: r.startTime, endTime: r.endTime)
            ) { if case .candles(let b)? = $0.rows { batches.append(b) } }
        } catch {
            return []
        }
        return batches
    }
}
