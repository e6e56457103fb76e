import ArgumentParser

/// `backtest`: the command-line client of the backtest service.
@main
struct BacktestCLI: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "backtest",
        abstract: "Run and inspect backtests on the backtest service.",
        discussion: """
            Every command talking to the server takes --server HOST:PORT (env
            BACKTEST_SERVER, default 127.0.0.1:50051), --tls/--ca FILE, --token (env
            BACKTEST_TOKEN), --timeout SECONDS and --json.

            For scripts: --json prints the response message as proto3 JSON, one object
            (or one per line for watch, trades, equity, rm, sweep-rm): lowerCamelCase fields, every
            field present, 64-bit integers as strings, enums by their full names,
            times RFC 3339 UTC, durations as "1.5s", NaN as "NaN". Errors go to stderr
            with the server's message (with --json as {"error": {"code", "grpc_code",
            "message"}}).
            Progress bars and colours appear only on a terminal (never with NO_COLOR).

            Exit codes:
            \(ExitCodes.table)

            Examples:
              backtest health
              backtest import GOOG.csv --symbol GOOG --timeframe 1d
              backtest start --symbol GOOG --timeframe 1d --from 2004-08-19 \\
                  --to 2013-03-02 --strategy sma_cross --param n1=10 --watch
              backtest sessions --status completed
              backtest show ID
              backtest trades ID --csv > trades.csv
              backtest rm --label sweep=old --dry-run
              backtest sweep --symbol GOOG --timeframe 1d --from 2004-08-19 \\
                  --to 2013-03-02 --strategy sma_cross --param n1=5..30 \\
                  --param n2=20..100:2 --where 'n1 < n2' --maximize sharpe_ratio --watch
            """,
        subcommands: [
            Start.self, Watch.self, Stop.self, ListActive.self, Sessions.self, Show.self, Trades.self, Equity.self,
            Report.self,
            Remove.self, Import.self, MarketData.self, Bars.self, SweepCommand.self, Sweeps.self, SweepShow.self,
            SweepStop.self, SweepRemove.self,
            WalkForwardCommand.self, Compare.self, Health.self, EncodeRequest.self,
        ]
    )
}
