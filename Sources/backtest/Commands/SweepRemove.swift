import ArgumentParser
import BacktestProto
import Foundation
import RPC

/// `backtest sweep-rm`: DeleteSweep, by id, or for every sweep ListSweeps finds by the
/// filters (one sweep per call: each is answered, and printed, on its own). `rm`'s
/// counterpart for sweeps.
struct SweepRemove: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sweep-rm",
        abstract: "Delete ended sweeps with their results and the sessions they stored.",
        discussion: """
            A sweep goes with its result rows, a walk-forward's windows, and the sessions
            it stored in full (labelled sweep=ID: the best combinations', a walk-forward's
            stitched one) with their trades and equity curves; --keep-sessions keeps
            those sessions whole. By id, or every sweep the filters select (without
            --status: completed, failed and stopped ones), listed first and then deleted
            one by one. Nothing asks for confirmation: --dry-run shows what would go.
            Each deleted sweep is printed as it goes (with --json: one
            DeleteSweepResponse per line). A sweep still started or running is refused
            (FAILED_PRECONDITION: stop it first with sweep-stop); the others are deleted
            anyway and the command exits with the first refusal's code. An unknown id is
            NOT_FOUND unless --allow-missing; sweeps found by filters and gone meanwhile
            are skipped.

            Examples:
              backtest sweep-rm 3f2a9c 7b1d04
              backtest sweep-rm 3f2a9c --keep-sessions
              backtest sweep-rm --older-than 30d --status failed --dry-run
              backtest sweep-rm --all --json | jq -r .sweep.sweepId
            """
    )

    @Argument(help: "Sweep ids.") var ids: [String] = []
    @Option(
        help: ArgumentHelp(
            "Only this status (repeatable): completed, failed, stopped (default: the three).", valueName: "status"))
    var status: [String] = []
    @Option(help: "Only sweeps of this symbol.") var symbol: String = ""
    @Option(help: ArgumentHelp("Only sweeps created longer ago than this (90m, 12h, 30d).", valueName: "age"))
    var olderThan: String?
    @Flag(help: "Every ended sweep (the filters narrow it); needed when neither ids nor filters are given.")
    var all = false
    @Flag(help: "Keep the sessions the sweeps stored (labelled sweep=ID), whole.") var keepSessions = false
    @Flag(help: "Print what would be deleted; delete nothing.") var dryRun = false
    @Flag(help: "An id no sweep has is not an error (a retried delete).") var allowMissing = false
    @OptionGroup var global: GlobalOptions

    private var filtered: Bool { !status.isEmpty || !symbol.isEmpty || olderThan != nil }

    func validate() throws {
        if !ids.isEmpty && (filtered || all) {
            throw ValidationError("sweep ids and filters (--status, --symbol, --older-than, --all) exclude each other")
        }
        if ids.isEmpty && !filtered && !all {
            throw ValidationError("give sweep ids, filters (--status, --symbol, --older-than) or --all")
        }
        _ = try statuses()
        _ = try createdBefore(now: Date())
    }

    private func statuses() throws -> [SessionStatus] {
        let given = try OptionParsing.statuses(status, option: "--status")
        return given.isEmpty ? [.completed, .failed, .stopped] : given
    }

    /// --older-than as a creation time (microseconds): ListSweeps has no time filter,
    /// so the listing is narrowed here.
    private func createdBefore(now: Date) throws -> Int64? {
        guard let olderThan else { return nil }
        let age = try OptionParsing.duration(olderThan, option: "--older-than")
        return Int64((now.timeIntervalSince1970 * 1e6).rounded()) - (age.microseconds ?? 0)
    }

    func run() async throws {
        try await global.run { client, out in
            let byFilter = ids.isEmpty
            let targets = byFilter ? try await list(client) : nil
            if dryRun { return try await preview(targets, client: client, out: out) }
            var deleted = 0
            var firstRefusal: Int32?
            for id in targets?.map(\.sweepID) ?? ids {
                let response: DeleteSweepResponse
                do {
                    response = try await client.service.deleteSweep(
                        DeleteSweepRequest(
                            sweepID: id, allowMissing: allowMissing || byFilter, keepSessions: keepSessions))
                } catch let error as RPCError where Remove.perSession(error.code) {
                    out.reportError(code: error.code.description, grpcCode: error.code.rawValue, message: error.message)
                    firstRefusal = firstRefusal ?? ExitCodes.forStatus(error.code)
                    continue
                }
                guard let sweep = response.sweep else { continue }  // gone already
                deleted += 1
                if out.json {
                    try out.emit(response)
                } else {
                    let sessions = response.deletedSessionIDs.count
                    Console.line(
                        "deleted " + Self.describe(sweep, style: out.style)
                            + (keepSessions ? "" : " with \(sessions) session\(sessions == 1 ? "" : "s")"))
                }
            }
            if !out.json { Console.line("\(deleted) sweep\(deleted == 1 ? "" : "s") deleted") }
            return firstRefusal ?? ExitCodes.ok
        }
    }

    /// Every sweep the filters select, every page.
    private func list(_ client: BacktestClient) async throws -> [Sweep] {
        let before = try createdBefore(now: Date())
        var request = ListSweepsRequest(statuses: try statuses(), pageSize: 1000)
        var sweeps: [Sweep] = []
        repeat {
            let page = try await client.service.listSweeps(request)
            sweeps += page.sweeps.filter { s in
                (symbol.isEmpty || s.request?.backtest?.symbol == symbol)
                    && (before.map { (s.createdAt?.microsecondsSinceEpoch ?? .max) < $0 } ?? true)
            }
            request.pageToken = page.nextPageToken
        } while !request.pageToken.isEmpty
        return sweeps
    }

    /// --dry-run: the sweeps that would go (by id: each one looked up).
    private func preview(_ listed: [Sweep]?, client: BacktestClient, out: OutputContext) async throws -> Int32 {
        var sweeps = listed ?? []
        var firstRefusal: Int32?
        if listed == nil {
            for id in ids {
                do {
                    if let sweep = try await client.service.getSweep(GetSweepRequest(sweepID: id, pageSize: 1)).sweep {
                        sweeps.append(sweep)
                    }
                } catch let error as RPCError where Remove.perSession(error.code) {
                    if error.code == .notFound && allowMissing { continue }
                    out.reportError(code: error.code.description, grpcCode: error.code.rawValue, message: error.message)
                    firstRefusal = firstRefusal ?? ExitCodes.forStatus(error.code)
                }
            }
        }
        if out.json {
            try out.emit(ListSweepsResponse(sweeps: sweeps, nextPageToken: ""))
        } else {
            if !sweeps.isEmpty { Console.line(Sweeps.table(sweeps).render(style: out.style)) }
            Console.line("\(sweeps.count) sweep\(sweeps.count == 1 ? "" : "s") would be deleted (dry run)")
        }
        return firstRefusal ?? ExitCodes.ok
    }

    /// `ID (completed, GOOG 1d sma_cross, 18 combinations, created 2025-01-02 10:00)`.
    static func describe(_ s: Sweep, style: Style) -> String {
        let base = s.request?.backtest ?? StartBacktestRequest()
        let status = style.paint(s.status.name, Style.color(for: s.status.name))
        let created = s.createdAt.map(TimeDisplay.compact) ?? Format.undefined
        let kind = s.request?.walkForward != nil ? "walk-forward" : "\(s.total) combinations"
        return
            "\(s.sweepID) (\(status), \(base.symbol) \(base.timeframe) \(SessionView.strategyName(base.strategy)), \(kind), created \(created))"
    }
}
