import ArgumentParser
import BacktestProto

/// `backtest sweep-stop ID`: StopSweep (idempotent).
struct SweepStop: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sweep-stop",
        abstract: "Stop a sweep; the combinations done are kept.",
        discussion: """
            Idempotent: a sweep that has already ended answers with its final status.

            Examples:
              backtest sweep-stop 3f2a9c --reason "enough"
            """
    )

    @Argument(help: "The sweep id.") var id: String
    @Option(help: "Stored as the stop reason (default: \"stopped by request\").") var reason: String = ""
    @OptionGroup var global: GlobalOptions

    func run() async throws {
        try await global.run { client, out in
            let response = try await client.service.stopSweep(StopSweepRequest(sweepID: id, reason: reason))
            if out.json {
                try out.emit(response)
            } else {
                let status = out.style.paint(response.status.name, Style.color(for: response.status.name))
                Console.line(
                    response.alreadyEnded
                        ? "sweep \(response.sweepID) had already ended: \(status)"
                        : "sweep \(response.sweepID) \(status)")
            }
            return ExitCodes.ok
        }
    }
}
