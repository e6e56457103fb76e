import ArgumentParser

/// `backtest watch ID`: WatchProgress to the terminal event.
struct Watch: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Follow a session's progress until it ends.",
        discussion: """
            On a terminal: a progress bar redrawn in place (percent, simulated time, equity,
            P&L, trades, drawdown, speed, ETA), then the final statistics. Piped: only the
            final line and statistics. With --json: every event as one JSON line (snapshot,
            updates, terminal). Ctrl-C stops watching, not the session.
            Exits 0 when the session completed, 2 failed, 3 stopped.

            Examples:
              backtest watch 3f2a9c
              backtest watch 3f2a9c --json | jq -c '{pct: .progressPct, equity}'
            """
    )

    @Argument(help: "The session id.") var id: String
    @Option(help: ArgumentHelp("Least time between progress updates (250ms, 1s).", valueName: "duration"))
    var interval: String?
    @OptionGroup var global: GlobalOptions

    func run() async throws {
        try await global.run { client, out in
            let minInterval = try interval.map { try OptionParsing.duration($0, option: "--interval") }
            return try await SessionFollower.follow(id, client: client, out: out, minInterval: minInterval)
        }
    }
}
