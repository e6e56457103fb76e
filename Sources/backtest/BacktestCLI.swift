import ArgumentParser

/// `backtest`: the command-line client of the backtest service.
///
/// Today it builds and encodes requests offline (`encode-request`); the RPC
/// subcommands (start, watch, stop, list, sessions, show, trades, equity, import,
/// data, health) arrive with the server.
@main
struct BacktestCLI: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "backtest",
        abstract: "Run and inspect backtests on the backtest service.",
        subcommands: [EncodeRequest.self]
    )
}
