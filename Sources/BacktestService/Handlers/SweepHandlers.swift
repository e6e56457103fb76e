import BacktestCore
import BacktestProto
import BacktestStore
import GRPCServices
import RPC

/// The sweep methods of `backtest.v1.BacktestService` (docs/DESIGN.md section 13):
/// each maps its message, calls the sweep registry, and answers in the contract's
/// terms; errors become statuses as for every other method.
struct SweepHandlers: Sendable {
    let sweeps: SweepRegistry
    /// The sessions' registry: a deleted sweep's sessions go through it.
    let sessions: EngineRegistry

    func register(into router: inout RPCRouter) {
        typealias Method = BacktestServiceMethods
        router.unary(Method.startSweep) { (request: StartSweepRequest, _) in
            try await BacktestHandlers.mapped {
                let started = try await sweeps.start(try SweepMapping.sweepRequest(request))
                return StartSweepResponse(
                    sweepID: started.sweepId, status: ProtoMapping.status(started.state), total: started.total,
                    createdAt: ProtoTimestamp(microsecondsSinceEpoch: started.createdAt))
            }
        }
        router.serverStreaming(Method.watchSweep) {
            (request: WatchSweepRequest, writer: ResponseWriter<SweepProgressEvent>, _) in
            try await BacktestHandlers.mapped { try await watch(request, writer) }
        }
        router.unary(Method.stopSweep) { (request: StopSweepRequest, _) in
            try await BacktestHandlers.mapped {
                try Self.requireId(request.sweepID)
                let stopped = try await sweeps.stop(request.sweepID, reason: request.reason)
                return StopSweepResponse(
                    sweepID: stopped.sweepId, status: ProtoMapping.status(stopped.state),
                    alreadyEnded: stopped.alreadyEnded)
            }
        }
        router.unary(Method.getSweep) { (request: GetSweepRequest, _) in
            try await BacktestHandlers.mapped { try await get(request) }
        }
        router.unary(Method.listSweeps) { (request: ListSweepsRequest, _) in
            try await BacktestHandlers.mapped { try await list(request) }
        }
        router.unary(Method.deleteSweep) { (request: DeleteSweepRequest, _) in
            try await BacktestHandlers.mapped { try await delete(request) }
        }
    }

    func watch(_ request: WatchSweepRequest, _ writer: ResponseWriter<SweepProgressEvent>) async throws {
        try Self.requireId(request.sweepID)
        var interval = BacktestHandlers.defaultWatchInterval
        if let given = request.minInterval {
            guard let d = given.swiftDuration, d >= .zero else {
                throw ServiceError.invalid("min_interval", "must be a valid, non-negative duration")
            }
            if d > .zero { interval = d }
        }
        try await sweeps.watch(request.sweepID, minInterval: interval) {
            try await writer.write(SweepMapping.event($0))
        }
    }

    func get(_ request: GetSweepRequest) async throws -> GetSweepResponse {
        try Self.requireId(request.sweepID)
        guard request.pageSize <= 1000 else {
            throw ServiceError.invalid("page_size", "at most 1000, got \(request.pageSize)")
        }
        let outcome: Result<(SweepRecord, SweepResultPage), ServiceError>
        do {
            outcome = .success(
                try await sweeps.results(
                    request.sweepID, sortBy: request.sortBy,
                    ascending: request.sortBy.isEmpty ? nil : request.ascending,
                    pageSize: request.pageSize == 0 ? 100 : Int(request.pageSize), pageToken: request.pageToken))
        } catch {
            outcome = .failure(error)
        }
        // (A `catch where` on a typed error crashes Swift 6.3's SILGen: hence the Result.)
        if case .failure(let error) = outcome, error.field == "page_token" {
            throw ServiceError.invalid("page_token", "not a token of this listing (\(error.reason))")
        }
        let (record, page) = try outcome.get()
        let sweep = SweepMapping.sweep(record)
        var response = GetSweepResponse(
            sweep: sweep, results: page.rows.map(SweepMapping.result), nextPageToken: page.nextPageToken)
        if sweep.request?.walkForward != nil {
            let windows = try await sweeps.walkForwardWindows(request.sweepID)
            response.walkForward = WalkForwardResult(
                windows: windows.map(SweepMapping.window),
                statistics: record.stitchedStatistics.map(ProtoMapping.statistics),
                sessionID: record.stitchedSessionId)
        }
        return response
    }

    func list(_ request: ListSweepsRequest) async throws -> ListSweepsResponse {
        var query = SweepQuery()
        for status in request.statuses {
            guard let state = ProtoMapping.state(status) else {
                throw ServiceError.invalid("statuses", "SESSION_STATUS_UNSPECIFIED is not a status")
            }
            query.states.insert(state)
        }
        guard request.pageSize <= 1000 else {
            throw ServiceError.invalid("page_size", "at most 1000, got \(request.pageSize)")
        }
        query.pageSize = request.pageSize == 0 ? 100 : Int(request.pageSize)
        query.pageToken = request.pageToken
        let page: Result<SweepPage, ServiceError>
        do {
            page = .success(try await sweeps.list(query))
        } catch {
            page = .failure(error)
        }
        if case .failure(let error) = page, error.field == "page_token" {
            throw ServiceError.invalid("page_token", "not a token this server made (\(error.reason))")
        }
        let found = try page.get()
        return ListSweepsResponse(sweeps: found.sweeps.map(SweepMapping.sweep), nextPageToken: found.nextPageToken)
    }

    /// NOT_FOUND for an unknown id unless allow_missing, which answers with no sweep.
    func delete(_ request: DeleteSweepRequest) async throws -> DeleteSweepResponse {
        try Self.requireId(request.sweepID)
        let outcome: Result<SweepRegistry.Deleted, ServiceError>
        do {
            outcome = .success(
                try await sweeps.delete(request.sweepID, keepSessions: request.keepSessions, sessions: sessions))
        } catch {
            outcome = .failure(error)
        }
        // (A `catch where` on a typed error crashes Swift 6.3's SILGen: hence the Result.)
        if case .failure(let error) = outcome, error.kind == .notFound, request.allowMissing {
            return DeleteSweepResponse(sweep: nil)
        }
        let deleted = try outcome.get()
        return DeleteSweepResponse(sweep: SweepMapping.sweep(deleted.record), deletedSessionIDs: deleted.sessionIds)
    }

    static func requireId(_ id: String) throws(ServiceError) {
        guard !id.isEmpty else { throw .invalid("sweep_id", "required") }
        guard id.utf8.count <= 128 else { throw .invalid("sweep_id", "longer than 128 bytes") }
    }
}
