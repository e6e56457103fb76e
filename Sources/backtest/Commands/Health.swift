import ArgumentParser
import BacktestProto

/// `backtest health`: grpc.health.v1.Health/Check.
struct Health: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Check that the server is up and serving.",
        discussion: """
            Exits 0 when SERVING, 2 when the server answers NOT_SERVING, 24 (UNAVAILABLE)
            when nothing answers. Needs no token.

            Examples:
              backtest health
              backtest health --service backtest.v1.BacktestService --json
              until backtest health --timeout 1 >/dev/null 2>&1; do sleep 0.2; done
            """
    )

    @Option(help: "The service to check; empty = the server as a whole.") var service: String = ""
    @OptionGroup var global: GlobalOptions

    func run() async throws {
        try await global.run { client, out in
            let response = try await client.health.check(GRPCHealthV1.HealthCheckRequest(service: service))
            if out.json {
                try out.emit(response)
            } else {
                Console.line(
                    out.style.paint(String(response.status.protoShortName), response.status == .serving ? .green : .red)
                )
            }
            return response.status == .serving ? ExitCodes.ok : ExitCodes.sessionFailed
        }
    }
}
