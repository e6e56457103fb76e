import BacktestEngine
import BacktestProto
import BacktestStore
import GRPCServices
import Logging
import RPC

/// The `backtest.v1.BacktestService` methods: request checks and message mapping here;
/// the work is the registry's and the store's.
struct BacktestHandlers: Sendable {
    static let serviceName = "backtest.v1.BacktestService"
    static let defaultWatchInterval = Duration.milliseconds(250)

    let registry: EngineRegistry
    let store: any BacktestStore
    let logger: Logger

    func register(into router: inout RPCRouter) {
        let path = { (method: String) in "/\(Self.serviceName)/\(method)" }
        router.unary(path("StartBacktest")) { (request: StartBacktestRequest, _) in
            try await registry.start(request)
        }
        router.unary(path("StopBacktest")) { (request: StopBacktestRequest, _) in
            try Self.requireId(request.sessionID)
            return try await registry.stop(request.sessionID, reason: request.reason)
        }
        router.unary(path("ListActive")) { (request: ListActiveRequest, _) in
            ListActiveResponse(sessions: await registry.active(symbol: request.symbol))
        }
        router.serverStreaming(path("WatchProgress")) { (request: WatchProgressRequest, writer: ResponseWriter<ProgressEvent>, _) in
            try await watch(request, writer)
        }
        router.unary(path("GetSession")) { (request: GetSessionRequest, _) in
            try Self.requireId(request.sessionID)
            guard let record = try await registry.record(request.sessionID) else { throw Self.notFound(request.sessionID) }
            return GetSessionResponse(session: ProtoMapping.session(record))
        }
        router.unary(path("ListSessions")) { (request: ListSessionsRequest, _) in
            try await listSessions(request)
        }
        router.serverStreaming(path("GetTrades")) { (request: GetTradesRequest, writer: ResponseWriter<GetTradesResponse>, _) in
            try await trades(request, writer)
        }
        router.serverStreaming(path("GetEquityCurve")) { (request: GetEquityCurveRequest, writer: ResponseWriter<GetEquityCurveResponse>, _) in
            try await equity(request, writer)
        }
        router.clientStreaming(path("ImportMarketData")) { (requests: RequestMessages<ImportMarketDataRequest>, _) in
            try await MarketDataImportHandler(store: store, logger: logger).run(requests)
        }
        router.unary(path("ListMarketData")) { (request: ListMarketDataRequest, _) in
            let series = try await Self.storeCall { try await store.marketSeries(symbol: request.symbol) }
            return ListMarketDataResponse(series: series.map(ProtoMapping.series))
        }
    }

    // MARK: WatchProgress

    /// A snapshot, then the newest event at most once per min_interval (a slow reader
    /// skips to the latest), then the terminal event, then OK.
    func watch(_ request: WatchProgressRequest, _ writer: ResponseWriter<ProgressEvent>) async throws {
        try Self.requireId(request.sessionID)
        var interval = Self.defaultWatchInterval
        if let given = request.minInterval {
            guard let d = given.swiftDuration, d >= .zero else {
                throw RPCError(.invalidArgument, "min_interval: must be a valid, non-negative duration")
            }
            if d > .zero { interval = d }
        }
        guard let source = try await registry.watchSource(request.sessionID) else { throw Self.notFound(request.sessionID) }
        switch source {
        case .ended(let record):
            try await writer.write(Self.event(record, kind: .snapshot, sequence: 0))
            try await writer.write(Self.event(record, kind: .terminal, sequence: 1))
        case .live(let hub, _):
            try await hub.watch(minInterval: interval) { try await writer.write($0) }
        }
    }

    /// An ended session's state as an event, from its record.
    static func event(_ r: SessionRecord, kind: ProgressEventKind, sequence: UInt64) -> ProgressEvent {
        var e = ProgressEvent()
        e.sessionID = r.id
        e.sequence = sequence
        e.kind = kind
        e.status = ProtoMapping.status(r.state)
        e.progressPct = r.progressPct
        e.simTime = ProtoMapping.timestamp(r.simTime)
        e.trades = r.totalTrades
        e.eventsProcessed = r.eventsProcessed
        e.wallTime = ProtoMapping.timestamp(r.completedAt ?? r.createdAt)
        if let s = r.statistics {
            e.equity = s.equityFinal
            e.cash = s.equityFinal
            e.maxDrawdownPct = s.maxDrawdownPct
            e.realizedPnl = s.finalPnl
            if kind == .terminal { e.statistics = ProtoMapping.statistics(s) }
        }
        if kind == .terminal {
            e.errorMessage = r.errorMessage
            e.stopReason = r.stopReason
            e.eta = ProtoDuration(microseconds: 0)
        }
        return e
    }

    // MARK: Stored results

    func listSessions(_ request: ListSessionsRequest) async throws -> ListSessionsResponse {
        var query = SessionQuery()
        for status in request.statuses {
            guard let state = ProtoMapping.state(status) else { throw RPCError(.invalidArgument, "statuses: SESSION_STATUS_UNSPECIFIED is not a status") }
            query.states.insert(state)
        }
        query.symbol = request.symbol
        query.createdAfter = try Self.micros(request.createdAfter, "created_after")
        query.createdBefore = try Self.micros(request.createdBefore, "created_before")
        query.labels = request.labels
        guard request.pageSize <= 1000 else { throw RPCError(.invalidArgument, "page_size: at most 1000, got \(request.pageSize)") }
        query.pageSize = request.pageSize == 0 ? 100 : Int(request.pageSize)
        query.pageToken = request.pageToken
        let page: SessionPage
        do {
            page = try await store.listSessions(query)
        } catch StoreError.badPageToken(let why) {
            throw RPCError(.invalidArgument, "page_token: not a token this server made (\(why))")
        } catch {
            throw RPCError(.unavailable, "the store cannot be read: \(error)")
        }
        // Active sessions show their live progress rather than the last persisted one.
        let live = await registry.liveRecords(page.sessions.filter { !$0.state.isTerminal }.map(\.id))
        let sessions = page.sessions.map { ProtoMapping.session(live[$0.id] ?? $0) }
        return ListSessionsResponse(sessions: sessions, nextPageToken: page.nextPageToken)
    }

    func trades(_ request: GetTradesRequest, _ writer: ResponseWriter<GetTradesResponse>) async throws {
        try Self.requireId(request.sessionID)
        guard request.chunkSize <= 10_000 else { throw RPCError(.invalidArgument, "chunk_size: at most 10000, got \(request.chunkSize)") }
        guard try await registry.record(request.sessionID) != nil else { throw Self.notFound(request.sessionID) }
        let size = request.chunkSize == 0 ? 1000 : Int(request.chunkSize)
        let cursor = try await Self.storeCall { try await store.trades(sessionId: request.sessionID, batchSize: size) }
        try await Self.stream(cursor, to: writer) { GetTradesResponse(trades: $0.map(ProtoMapping.trade)) }
    }

    func equity(_ request: GetEquityCurveRequest, _ writer: ResponseWriter<GetEquityCurveResponse>) async throws {
        try Self.requireId(request.sessionID)
        guard request.chunkSize <= 50_000 else { throw RPCError(.invalidArgument, "chunk_size: at most 50000, got \(request.chunkSize)") }
        let range = TimeRange(start: try Self.micros(request.startTime, "start_time") ?? .min,
                              end: try Self.micros(request.endTime, "end_time") ?? .max)
        guard range.start < range.end else { throw RPCError(.invalidArgument, "end_time: must be after start_time") }
        guard try await registry.record(request.sessionID) != nil else { throw Self.notFound(request.sessionID) }
        let size = request.chunkSize == 0 ? 5000 : Int(request.chunkSize)
        let cursor = try await Self.storeCall { try await store.equity(sessionId: request.sessionID, range: range, batchSize: size) }
        try await Self.stream(cursor, to: writer) { GetEquityCurveResponse(points: $0.map(ProtoMapping.equityPoint)) }
    }

    // MARK: Helpers

    /// One response message per stored batch; the cursor is released however it ends.
    static func stream<Row, Response>(_ cursor: any RowCursor<Row>, to writer: ResponseWriter<Response>,
                                      _ message: ([Row]) -> Response) async throws {
        defer { cursor.close() }
        while let batch = try await storeCall({ try await cursor.next() }) {
            try await writer.write(message(batch))
        }
    }

    /// An optional timestamp field in microseconds; an invalid one names the field.
    static func micros(_ t: ProtoTimestamp?, _ field: String) throws(RPCError) -> Int64? {
        guard let t else { return nil }
        guard let us = t.microsecondsSinceEpoch else { throw RPCError(.invalidArgument, "\(field): not a valid timestamp") }
        return us
    }

    static func requireId(_ id: String) throws(RPCError) {
        guard !id.isEmpty else { throw RPCError(.invalidArgument, "session_id: required") }
        guard id.utf8.count <= 128 else { throw RPCError(.invalidArgument, "session_id: longer than 128 bytes") }
    }

    static func notFound(_ id: String) -> RPCError {
        RPCError(.notFound, "session_id: no session \"\(id)\"")
    }

    /// Store failures as statuses: unreachable is UNAVAILABLE, a refusal names its cause.
    static func storeCall<T>(_ body: () async throws -> T) async throws -> T {
        do {
            return try await body()
        } catch let error as RPCError {
            throw error
        } catch let error as StoreError {
            switch error {
            case .invalid(let m): throw RPCError(.invalidArgument, m)
            case .conflict(let m): throw RPCError(.alreadyExists, m)
            case .badPageToken(let m): throw RPCError(.invalidArgument, "page_token: \(m)")
            case .unavailable, .failed: throw RPCError(.unavailable, error.description)
            }
        }
    }
}
