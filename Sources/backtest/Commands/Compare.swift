import ArgumentParser
import BacktestProto
import RPC

/// `backtest compare ID...`: GetSession for each, side by side.
struct Compare: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Show sessions' parameters and statistics side by side.",
        discussion: """
            A column per session (its id's first 8 characters), a row per request field,
            strategy parameter and statistic. With --json, a ListSessionsResponse with
            the sessions in the order given.

            Examples:
              backtest compare ID1 ID2 ID3
              backtest compare $(backtest sessions --label sweep=ID --json | jq -r '.sessions[].sessionId')
            """
    )

    @Argument(help: "The session ids (one or more).") var ids: [String]
    @OptionGroup var global: GlobalOptions

    func validate() throws {
        if ids.isEmpty { throw ValidationError("give at least one session id") }
    }

    func run() async throws {
        try await global.run { client, out in
            var sessions: [Session] = []
            for id in ids {
                guard let s = try await client.service.getSession(GetSessionRequest(sessionID: id)).session else {
                    throw RPCError(.internal, "GetSession answered without a session")
                }
                sessions.append(s)
            }
            if out.json {
                try out.emit(ListSessionsResponse(sessions: sessions))
            } else {
                Console.line(CompareView.table(sessions).render(style: out.style))
            }
            return ExitCodes.ok
        }
    }
}
