import ArgumentParser
import BacktestProto

/// `backtest start`: StartBacktest, and with --watch the progress to the end.
struct Start: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Start a backtest (and with --watch, follow it to the end).",
        discussion: """
            Prints the new session's id (alone when output is piped, so that
            ID=$(backtest start ...) works). With --watch, a live progress bar on a
            terminal, then the final statistics; exits 0 completed, 2 failed, 3 stopped.

            Examples:
              backtest start --symbol GOOG --timeframe 1d \\
                  --from 2004-08-19 --to 2013-03-02 --watch
              backtest start --symbol GOOG --timeframe 1d \\
                  --from 2004-08-19 --to 2013-03-02 --strategy sma_cross \\
                  --param n1=10 --param n2=20 --commission-rate 0.002 --watch
              backtest start --symbol BTCUSD --timeframe tick \\
                  --from 2024-01-01 --to 2024-01-02 --strategy-file momentum.txt \\
                  --sizing fraction=0.5 --fractional --label team=quant
              backtest start ... --acceleration 86400 --watch   # a day a second

            """ + StartOptions.strategyFileHelp
    )

    @OptionGroup var options: StartOptions
    @Flag(help: "Follow the session's progress until it ends.") var watch = false
    @Option(help: ArgumentHelp("With --watch: least time between progress updates (250ms, 1s).", valueName: "duration"))
    var interval: String?
    @OptionGroup var global: GlobalOptions

    func validate() throws { try options.validateNumericParams() }

    func run() async throws {
        try await global.run { client, out in
            let request = try options.request()
            let minInterval = try interval.map { try OptionParsing.duration($0, option: "--interval") }
            let response = try await client.service.startBacktest(request)
            if out.json {
                try out.emit(response)
            } else if out.terminal.isTTY || watch {
                var line = "session \(out.style.paint(response.sessionID, .bold)) \(response.status.name)"
                if response.deduplicated { line += " (an earlier request with this --request-id)" }
                Console.line(line)
                if !watch { Console.line("follow it with: backtest watch \(response.sessionID)") }
            } else {
                Console.line(response.sessionID)
            }
            guard watch else { return ExitCodes.ok }
            return try await SessionFollower.follow(
                response.sessionID, client: client, out: out, minInterval: minInterval)
        }
    }
}
