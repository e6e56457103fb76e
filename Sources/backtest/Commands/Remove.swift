import ArgumentParser
import BacktestProto
import Foundation
import RPC

/// `backtest rm`: DeleteSession, by id, or for every session ListSessions finds by
/// the filters (the server deletes one session per call: each is answered, and
/// printed, on its own).
struct Remove: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rm",
        abstract: "Delete ended sessions with everything stored for them.",
        discussion: """
            By id, or every session the filters select (without --status: completed,
            failed and stopped ones), listed first and then deleted one by one. Nothing
            asks for confirmation: --dry-run shows what would go. Each deleted session is
            printed as it goes (with --json: one DeleteSessionResponse per line). A
            session still started or running is refused (FAILED_PRECONDITION: stop it
            first); the others are deleted anyway and the command exits with the first
            refusal's code. An unknown id is NOT_FOUND unless --allow-missing; sessions
            found by filters and gone meanwhile are skipped.

            Examples:
              backtest rm 3f2a9c 7b1d04
              backtest rm --label sweep=2025-01 --dry-run
              backtest rm --older-than 30d --status failed --status stopped
              backtest rm --all --json | jq -r .session.sessionId
            """
    )

    @Argument(help: "Session ids.") var ids: [String] = []
    @Option(
        help: ArgumentHelp(
            "Only this status (repeatable): completed, failed, stopped (default: the three).", valueName: "status"))
    var status: [String] = []
    @Option(help: "Only this symbol.") var symbol: String = ""
    @Option(
        name: .customLong("label"),
        help: ArgumentHelp("Only sessions with this label (repeatable).", valueName: "key=value"))
    var labels: [String] = []
    @Option(
        help: ArgumentHelp("Only sessions created longer ago than this (90m, 12h, 30d).", valueName: "age"))
    var olderThan: String?
    @Flag(help: "Every ended session (the filters narrow it); needed when neither ids nor filters are given.")
    var all = false
    @Flag(help: "Print what would be deleted; delete nothing.") var dryRun = false
    @Flag(help: "An id no session has is not an error (a retried delete).") var allowMissing = false
    @OptionGroup var global: GlobalOptions

    private var filtered: Bool { !status.isEmpty || !symbol.isEmpty || !labels.isEmpty || olderThan != nil }

    func validate() throws {
        if !ids.isEmpty && (filtered || all) {
            throw ValidationError(
                "session ids and filters (--status, --symbol, --label, --older-than, --all) exclude each other")
        }
        if ids.isEmpty && !filtered && !all {
            throw ValidationError("give session ids, filters (--status, --symbol, --label, --older-than) or --all")
        }
        _ = try listRequest(now: Date())
    }

    /// What the filters select, as ListSessions asks for it.
    func listRequest(now: Date) throws -> ListSessionsRequest {
        let statuses = try OptionParsing.statuses(status, option: "--status")
        var before: ProtoTimestamp?
        if let olderThan {
            let age = try OptionParsing.duration(olderThan, option: "--older-than")
            let nowMicros = Int64((now.timeIntervalSince1970 * 1e6).rounded())
            before = ProtoTimestamp(microsecondsSinceEpoch: nowMicros - (age.microseconds ?? 0))
        }
        return ListSessionsRequest(
            statuses: statuses.isEmpty ? [.completed, .failed, .stopped] : statuses, symbol: symbol,
            createdBefore: before, labels: try OptionParsing.pairs(labels, option: "--label"), pageSize: 1000)
    }

    func run() async throws {
        try await global.run { client, out in
            let byFilter = ids.isEmpty
            let targets = byFilter ? try await list(client) : nil
            if dryRun { return try await preview(targets, client: client, out: out) }
            var deleted = 0
            var firstRefusal: Int32?
            for id in targets?.map(\.sessionID) ?? ids {
                let response: DeleteSessionResponse
                do {
                    response = try await client.service.deleteSession(
                        DeleteSessionRequest(sessionID: id, allowMissing: allowMissing || byFilter))
                } catch let error as RPCError where Self.perSession(error.code) {
                    out.reportError(code: error.code.description, grpcCode: error.code.rawValue, message: error.message)
                    firstRefusal = firstRefusal ?? ExitCodes.forStatus(error.code)
                    continue
                }
                guard let session = response.session else { continue }  // gone already
                deleted += 1
                if out.json {
                    try out.emit(response)
                } else {
                    Console.line("deleted " + Self.describe(session, style: out.style))
                }
            }
            if !out.json { Console.line("\(deleted) session\(deleted == 1 ? "" : "s") deleted") }
            return firstRefusal ?? ExitCodes.ok
        }
    }

    /// Refusals of one session; anything else (the server unreachable, a deadline, a
    /// bad token) ends the command at once.
    static func perSession(_ code: Status.Code) -> Bool {
        code == .failedPrecondition || code == .notFound || code == .invalidArgument
    }

    /// Every session the filters select, every page.
    private func list(_ client: BacktestClient) async throws -> [Session] {
        var request = try listRequest(now: Date())
        var sessions: [Session] = []
        repeat {
            let page = try await client.service.listSessions(request)
            sessions += page.sessions
            request.pageToken = page.nextPageToken
        } while !request.pageToken.isEmpty
        return sessions
    }

    /// --dry-run: the sessions that would go (by id: each one looked up).
    private func preview(_ listed: [Session]?, client: BacktestClient, out: OutputContext) async throws -> Int32 {
        var sessions = listed ?? []
        var firstRefusal: Int32?
        if listed == nil {
            for id in ids {
                do {
                    sessions.append(try await client.session(id))
                } catch let error as RPCError where Self.perSession(error.code) {
                    if error.code == .notFound && allowMissing { continue }
                    out.reportError(code: error.code.description, grpcCode: error.code.rawValue, message: error.message)
                    firstRefusal = firstRefusal ?? ExitCodes.forStatus(error.code)
                }
            }
        }
        if out.json {
            try out.emit(ListSessionsResponse(sessions: sessions, nextPageToken: ""))
        } else {
            if !sessions.isEmpty { Console.line(Sessions.table(sessions).render(style: out.style)) }
            Console.line("\(sessions.count) session\(sessions.count == 1 ? "" : "s") would be deleted (dry run)")
        }
        return firstRefusal ?? ExitCodes.ok
    }

    /// `ID (completed, GOOG 1d sma_cross, created 2025-01-02 10:00)`.
    static func describe(_ s: Session, style: Style) -> String {
        let r = s.request ?? StartBacktestRequest()
        let status = style.paint(s.status.name, Style.color(for: s.status.name))
        let created = s.createdAt.map(TimeDisplay.compact) ?? Format.undefined
        return
            "\(s.sessionID) (\(status), \(r.symbol) \(r.timeframe) \(SessionView.strategyName(r.strategy)), created \(created))"
    }
}
