import BacktestCore
import BacktestEngine
import BacktestProto
import BacktestStore
import GRPCServices
import Logging
import RPC

/// The `backtest.v1.BacktestService` methods: each reads its message, calls the core,
/// and answers in the contract's terms; the core's errors become statuses in one place.
struct BacktestHandlers: Sendable {
    static let serviceName = BacktestServiceMethods.serviceName
    static let defaultWatchInterval = Duration.milliseconds(250)

    let registry: EngineRegistry
    /// With a cluster: places sessions on other nodes when this one is full.
    var placement: SessionPlacement? = nil
    let logger: Logger

    func register(into router: inout RPCRouter) {
        typealias Method = BacktestServiceMethods
        router.unary(Method.startBacktest) { (request: StartBacktestRequest, context) in
            try await Self.mapped { try await start(request, context.metadata) }
        }
        router.unary(Method.stopBacktest) { (request: StopBacktestRequest, _) in
            try await Self.mapped {
                try Self.requireId(request.sessionID)
                let stopped = try await registry.stop(request.sessionID, reason: request.reason)
                return StopBacktestResponse(
                    sessionID: stopped.sessionId, status: ProtoMapping.status(stopped.state),
                    alreadyEnded: stopped.alreadyEnded)
            }
        }
        router.unary(Method.listActive) { (request: ListActiveRequest, _) in
            let active = await registry.active(symbol: request.symbol)
            return ListActiveResponse(sessions: active.map(ProtoMapping.activeSession))
        }
        router.serverStreaming(Method.watchProgress) {
            (request: WatchProgressRequest, writer: ResponseWriter<ProgressEvent>, _) in
            try await Self.mapped { try await watch(request, writer) }
        }
        router.unary(Method.getSession) { (request: GetSessionRequest, _) in
            try await Self.mapped {
                try Self.requireId(request.sessionID)
                guard let record = try await registry.record(request.sessionID) else {
                    throw ServiceError.noSession(request.sessionID)
                }
                return GetSessionResponse(session: ProtoMapping.session(record))
            }
        }
        router.unary(Method.listSessions) { (request: ListSessionsRequest, _) in
            try await Self.mapped { try await listSessions(request) }
        }
        router.serverStreaming(Method.getTrades) {
            (request: GetTradesRequest, writer: ResponseWriter<GetTradesResponse>, _) in
            try await Self.mapped { try await trades(request, writer) }
        }
        router.serverStreaming(Method.getEquityCurve) {
            (request: GetEquityCurveRequest, writer: ResponseWriter<GetEquityCurveResponse>, _) in
            try await Self.mapped { try await equity(request, writer) }
        }
        router.clientStreaming(Method.importMarketData) { (requests: RequestMessages<ImportMarketDataRequest>, _) in
            try await Self.mapped {
                try await MarketDataImportHandler(store: registry.store, logger: logger).run(requests)
            }
        }
        router.unary(Method.deleteSession) { (request: DeleteSessionRequest, _) in
            try await Self.mapped { try await delete(request) }
        }
        router.unary(Method.listMarketData) { (request: ListMarketDataRequest, _) in
            try await Self.mapped {
                let series = try await ServiceError.storeCall {
                    try await registry.store.marketSeries(symbol: request.symbol)
                }
                return ListMarketDataResponse(series: series.map(ProtoMapping.series))
            }
        }
        router.serverStreaming(Method.getMarketData) {
            (request: GetMarketDataRequest, writer: ResponseWriter<GetMarketDataResponse>, _) in
            try await Self.mapped { try await marketData(request, writer) }
        }
        // Bulk transfers yield to everything else (DESIGN 12.2): a hundred result
        // streams encoding megabyte messages would otherwise hold the cooperative
        // threads while a health check or a StopBacktest waits behind them.
        for method in [Method.getTrades, Method.getEquityCurve, Method.getMarketData, Method.importMarketData] {
            router.setPriority(method.path, .utility)
        }
    }

    func start(_ request: StartBacktestRequest, _ metadata: Metadata = Metadata()) async throws
        -> StartBacktestResponse
    {
        let run = try StartRequestMapping.runRequest(request)
        let placed = metadata[SessionPlacement.placedKey] != nil
        if let placement, !placed, await registry.freeSlots == 0 {
            // Bad input is answered here, not by the node it would go to.
            _ = try run.validated()
            if let answer = await placement.place(request, metadata: metadata) { return answer }
        }
        let handover = placed ? SessionPlacement.handover(in: metadata) : nil
        let started = try await registry.start(run, onlyIfFree: placed, handover: handover)
        return StartBacktestResponse(
            sessionID: started.sessionId, status: ProtoMapping.status(started.state),
            deduplicated: started.deduplicated,
            createdAt: ProtoTimestamp(microsecondsSinceEpoch: started.createdAt))
    }

    /// A snapshot, then the newest event at most once per min_interval, then the
    /// terminal event, then OK.
    func watch(_ request: WatchProgressRequest, _ writer: ResponseWriter<ProgressEvent>) async throws {
        try Self.requireId(request.sessionID)
        var interval = Self.defaultWatchInterval
        if let given = request.minInterval {
            guard let d = given.swiftDuration, d >= .zero else {
                throw ServiceError.invalid("min_interval", "must be a valid, non-negative duration")
            }
            if d > .zero { interval = d }
        }
        try await registry.watch(request.sessionID, minInterval: interval) {
            try await writer.write(ProtoMapping.event($0))
        }
    }

    // MARK: Stored results

    func listSessions(_ request: ListSessionsRequest) async throws -> ListSessionsResponse {
        var query = SessionQuery()
        for status in request.statuses {
            guard let state = ProtoMapping.state(status) else {
                throw ServiceError.invalid("statuses", "SESSION_STATUS_UNSPECIFIED is not a status")
            }
            query.states.insert(state)
        }
        query.symbol = request.symbol
        query.createdAfter = try StartRequestMapping.optionalTime(request.createdAfter, "created_after")
        query.createdBefore = try StartRequestMapping.optionalTime(request.createdBefore, "created_before")
        query.labels = request.labels
        guard request.pageSize <= 1000 else {
            throw ServiceError.invalid("page_size", "at most 1000, got \(request.pageSize)")
        }
        query.pageSize = request.pageSize == 0 ? 100 : Int(request.pageSize)
        query.pageToken = request.pageToken
        let page: Result<SessionPage, ServiceError>
        do {
            page = .success(try await registry.listSessions(query))
        } catch {
            page = .failure(error)
        }
        // (A `catch where` on a typed error crashes Swift 6.3's SILGen: hence the Result.)
        if case .failure(let error) = page, error.field == "page_token" {
            throw ServiceError.invalid("page_token", "not a token this server made (\(error.reason))")
        }
        let found = try page.get()
        return ListSessionsResponse(
            sessions: found.sessions.map(ProtoMapping.session), nextPageToken: found.nextPageToken)
    }

    func trades(_ request: GetTradesRequest, _ writer: ResponseWriter<GetTradesResponse>) async throws {
        try Self.requireId(request.sessionID)
        let size = try Self.chunkSize(request.chunkSize, default: 1000, limit: 10_000)
        let cursor = try await registry.trades(request.sessionID, batchSize: size)
        try await Self.stream(cursor, to: writer) { GetTradesResponse(trades: $0.map(ProtoMapping.trade)) }
    }

    func equity(_ request: GetEquityCurveRequest, _ writer: ResponseWriter<GetEquityCurveResponse>) async throws {
        try Self.requireId(request.sessionID)
        let size = try Self.chunkSize(request.chunkSize, default: 5000, limit: 50_000)
        let range = try Self.timeRange(request.startTime, request.endTime)
        let cursor = try await registry.equity(request.sessionID, range: range, batchSize: size)
        try await Self.stream(cursor, to: writer) { GetEquityCurveResponse(points: $0.map(ProtoMapping.equityPoint)) }
    }

    /// A series' rows as a run of the same symbol, timeframe and range reads them;
    /// NOT_FOUND, naming what is stored, when no series can give them.
    func marketData(_ request: GetMarketDataRequest, _ writer: ResponseWriter<GetMarketDataResponse>) async throws {
        try RunRequest.checkSymbol(request.symbol, field: "symbol")
        let ticks = request.kind == .ticks
        var interval: Timeframe = .tick
        if ticks {
            guard request.timeframe.isEmpty else {
                throw ServiceError.invalid("timeframe", "must be empty for ticks, got \"\(request.timeframe)\"")
            }
        } else {
            interval = try RunRequest.timeframe(request.timeframe, field: "timeframe")
            guard interval != .tick else {
                throw ServiceError.invalid(
                    "timeframe", "\"tick\" is not a candle interval: ask for kind DATA_KIND_TICKS")
            }
        }
        let size = try Self.chunkSize(request.chunkSize, default: 5000, limit: 50_000)
        let range = try Self.timeRange(request.startTime, request.endTime)
        let stored = try await ServiceError.storeCall { try await registry.store.marketSeries(symbol: request.symbol) }
        // Candles come from candles of that interval, or are built from ticks (DESIGN 5.4).
        let usable = stored.contains {
            $0.kind == .ticks || (!ticks && $0.kind == .candles && $0.timeframe == interval.description)
        }
        guard usable else {
            let what = ticks ? "ticks" : "\(interval) candles"
            let have = stored.map { $0.kind == .ticks ? "ticks" : "\($0.timeframe) candles" }
            throw ServiceError(
                .notFound, field: "symbol",
                "no \(what) stored for \"\(request.symbol)\""
                    + (have.isEmpty ? "" : " (stored: \(have.joined(separator: ", ")))"))
        }
        let symbol = request.symbol
        if ticks {
            let cursor = try await ServiceError.storeCall {
                try await registry.store.ticks(symbol: symbol, range: range, batchSize: size)
            }
            try await Self.stream(cursor, to: writer) {
                GetMarketDataResponse(rows: .ticks(ProtoMapping.tickBatch($0)))
            }
        } else {
            let cursor = try await ServiceError.storeCall {
                try await registry.store.candles(symbol: symbol, timeframe: interval, range: range, batchSize: size)
            }
            try await Self.stream(cursor, to: writer) {
                GetMarketDataResponse(rows: .candles(ProtoMapping.candleBatch($0)))
            }
        }
    }

    /// NOT_FOUND for an unknown id unless allow_missing, which answers with no session.
    func delete(_ request: DeleteSessionRequest) async throws -> DeleteSessionResponse {
        try Self.requireId(request.sessionID)
        let outcome: Result<SessionRecord, ServiceError>
        do {
            outcome = .success(try await registry.delete(request.sessionID))
        } catch {
            outcome = .failure(error)
        }
        // (A `catch where` on a typed error crashes Swift 6.3's SILGen: hence the Result.)
        if case .failure(let error) = outcome, error.kind == .notFound, request.allowMissing {
            return DeleteSessionResponse(session: nil)
        }
        return DeleteSessionResponse(session: ProtoMapping.session(try outcome.get()))
    }

    // MARK: Helpers

    /// Runs a handler body; the core's errors leave as their statuses.
    static func mapped<T>(_ body: () async throws -> T) async throws -> T {
        do {
            return try await body()
        } catch let error as ServiceError {
            throw ProtoMapping.rpcError(error)
        }
    }

    /// One response message per stored batch; the cursor is released however it ends.
    /// Each batch is read only once the client can take it: one that stops reading
    /// leaves this handler waiting with nothing in hand, not batches in memory.
    static func stream<Row, Response>(
        _ cursor: any RowCursor<Row>, to writer: ResponseWriter<Response>,
        _ message: ([Row]) -> Response
    ) async throws {
        defer { cursor.close() }
        while true {
            try await writer.awaitCapacity()
            guard let batch = try await ServiceError.storeCall({ try await cursor.next() }) else { return }
            try await writer.write(message(batch))
        }
    }

    /// A result stream's `chunk_size`: 0 is `value`, above `limit` refused.
    static func chunkSize(_ given: UInt32, default value: Int, limit: Int) throws(ServiceError) -> Int {
        guard given <= limit else { throw .invalid("chunk_size", "at most \(limit), got \(given)") }
        return given == 0 ? value : Int(given)
    }

    /// `[start_time, end_time)`, unbounded where unset; the end after the start.
    static func timeRange(_ start: ProtoTimestamp?, _ end: ProtoTimestamp?) throws(ServiceError) -> TimeRange {
        let range = TimeRange(
            start: try StartRequestMapping.optionalTime(start, "start_time") ?? .min,
            end: try StartRequestMapping.optionalTime(end, "end_time") ?? .max)
        guard range.start < range.end else { throw .invalid("end_time", "must be after start_time") }
        return range
    }

    static func requireId(_ id: String) throws(ServiceError) {
        guard !id.isEmpty else { throw .invalid("session_id", "required") }
        guard id.utf8.count <= 128 else { throw .invalid("session_id", "longer than 128 bytes") }
    }
}
