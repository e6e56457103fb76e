import ArgumentParser
import BacktestProto

/// `backtest stop ID`: StopBacktest (idempotent).
struct Stop: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Stop a session.",
        discussion: """
            Idempotent: a session that has already ended answers with its final status.

            Examples:
              backtest stop 3f2a9c --reason "wrong parameters"
            """
    )

    @Argument(help: "The session id.") var id: String
    @Option(help: "Stored as the stop reason (default: \"stopped by request\").") var reason: String = ""
    @OptionGroup var global: GlobalOptions

    func run() async throws {
        try await global.run { client, out in
            let response = try await client.service.stopBacktest(StopBacktestRequest(sessionID: id, reason: reason))
            if out.json {
                try out.emit(response)
            } else {
                let status = out.style.paint(response.status.name, Style.color(for: response.status.name))
                Console.line(
                    response.alreadyEnded
                        ? "session \(response.sessionID) had already ended: \(status)"
                        : "session \(response.sessionID) \(status)")
            }
            return ExitCodes.ok
        }
    }
}
