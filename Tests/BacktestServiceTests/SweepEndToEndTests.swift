import BacktestProto
import Foundation
import HTTP2Transport
import RPC
import TestSupport
import Testing

/// Sweeps through the real `backtestd` and the generated client over HTTP/2: a small
/// sweep's rows equal the single backtests of their parameters, WatchSweep ends with
/// exactly one terminal event, StopSweep keeps what was done, bad input is refused
/// naming the field.
@Suite struct SweepEndToEndTests {
    actor Daemon {
        static let shared = Daemon()
        private var started: (DaemonProcess, BacktestServiceClient)?

        func get() async throws -> (DaemonProcess, BacktestServiceClient) {
            if let started { return started }
            let daemon = try await DaemonProcess(arguments: [
                "--max-sweep-combinations", "15000", "--sweep-workers", "2",
            ])
            let grpc = GRPCClient(configuration: .init(port: daemon.port))
            let client = BacktestServiceClient(RPCClient(transport: grpc, metadata: Metadata(), timeout: .seconds(120)))
            let csv = try [UInt8](Data(contentsOf: URL(fileURLWithPath: Fixtures.googCSV)))
            let header = ImportHeader(
                symbol: "GOOG", kind: .candles, timeframe: "1d", format: .csv, sourceName: "GOOG.csv")
            _ = try await client.importMarketData { send in
                try await send(ImportMarketDataRequest(payload: .header(header)))
                try await send(ImportMarketDataRequest(payload: .csvChunk(csv)))
            }
            started = (daemon, client)
            return (daemon, client)
        }
    }

    static func backtest(n1: Double = 10, n2: Double = 20) -> StartBacktestRequest {
        var r = StartBacktestRequest()
        r.symbol = "GOOG"
        r.timeframe = "1d"
        r.startTime = ProtoTimestamp(microsecondsSinceEpoch: 1_092_873_600_000_000)
        r.endTime = ProtoTimestamp(microsecondsSinceEpoch: 1_362_182_400_000_000)
        r.initialCapital = 10_000
        r.strategy = StrategySpec(kind: .builtin(BuiltinStrategy(name: "sma_cross", params: ["n1": n1, "n2": n2])))
        return r
    }

    static func range(_ name: String, _ start: Double, _ stop: Double, _ step: Double) -> ParameterAxis {
        var axis = ParameterAxis()
        axis.name = name
        axis.values = .range(ValueRange(start: start, stop: stop, step: step))
        return axis
    }

    /// SMA crossover, n1 in 5..10, n2 in 15..25 step 5, n1 < n2: 18 combinations.
    static func smallSweep() -> StartSweepRequest {
        var r = StartSweepRequest()
        r.backtest = backtest()
        r.axes = [range("n1", 5, 10, 1), range("n2", 15, 25, 5)]
        r.constraints = ["n1 < n2"]
        r.objective = "sharpe_ratio"
        r.topK = 2
        return r
    }

    static func events(_ client: BacktestServiceClient, _ id: String) async throws -> [SweepProgressEvent] {
        var events: [SweepProgressEvent] = []
        try await client.watchSweep(
            WatchSweepRequest(sweepID: id, minInterval: ProtoDuration(microseconds: 1000))
        ) { events.append($0) }
        return events
    }

    static func status(_ body: () async throws -> some Any) async -> RPCError? {
        do {
            _ = try await body()
            return nil
        } catch {
            return error as? RPCError
        }
    }

    @Test func everyRowEqualsTheSingleBacktestAndTheWatchEndsOnce() async throws {
        let (_, client) = try await Daemon.shared.get()
        let started = try await client.startSweep(Self.smallSweep())
        #expect(started.total == 18 && started.status == .started && !started.sweepID.isEmpty)
        let events = try await Self.events(client, started.sweepID)
        #expect(events.first?.kind == .snapshot)
        #expect(events.filter { $0.kind == .terminal }.count == 1 && events.last?.kind == .terminal)
        let terminal = try #require(events.last)
        #expect(terminal.status == .completed && terminal.done == 18 && terminal.progressPct == 100)

        var rows: [SweepResult] = []
        var token = ""
        repeat {
            let page = try await client.getSweep(
                GetSweepRequest(sweepID: started.sweepID, pageSize: 5, pageToken: token))
            #expect(page.sweep?.status == .completed && page.sweep?.total == 18)
            rows += page.results
            token = page.nextPageToken
        } while !token.isEmpty
        #expect(rows.count == 18 && Set(rows.map(\.combination)) == Set(0..<18))
        #expect(terminal.best?.combination == rows[0].combination)

        for row in rows {
            let params = Dictionary(uniqueKeysWithValues: row.params.map { ($0.name, $0.value) })
            let single = try await client.startBacktest(Self.backtest(n1: params["n1"]!, n2: params["n2"]!))
            var last: ProgressEvent?
            try await client.watchProgress(WatchProgressRequest(sessionID: single.sessionID)) { last = $0 }
            #expect(last?.status == .completed)
            // Bit for bit: the same doubles encode to the same bytes (NaN included).
            let expected = try #require(last?.statistics)
            let got = try #require(row.statistics)
            #expect(try got.serializedBytes() == expected.serializedBytes(), "combination \(row.combination) \(params)")
        }

        // The best two hold their full results as sessions.
        for row in rows.prefix(2) {
            let session = try #require(try await client.getSession(GetSessionRequest(sessionID: row.sessionID)).session)
            #expect(session.status == .completed)
            #expect(session.request?.labels["sweep"] == nil, "labels are the record's, not the request's")
            var trades = 0
            try await client.getTrades(GetTradesRequest(sessionID: row.sessionID)) { trades += $0.trades.count }
            #expect(UInt64(trades) == row.statistics?.totalTrades)
        }
        #expect(rows.dropFirst(2).allSatisfy { $0.sessionID.isEmpty })

        // Any statistic sorts the table; a late watch gets the final state and the end.
        let byReturn = try await client.getSweep(
            GetSweepRequest(sweepID: started.sweepID, sortBy: "return_pct", ascending: true, pageSize: 1000))
        let returns = byReturn.results.compactMap { $0.statistics?.returnPct }
        #expect(returns.count == 18 && returns == returns.sorted())
        let late = try await Self.events(client, started.sweepID)
        #expect(late.map(\.kind) == [.snapshot, .terminal] && late.last?.status == .completed)
        let listed = try await client.listSweeps(ListSweepsRequest())
        #expect(listed.sweeps.contains { $0.sweepID == started.sweepID && $0.status == .completed })
    }

    @Test func stopSweepKeepsWhatWasDoneAndIsIdempotent() async throws {
        let (_, client) = try await Daemon.shared.get()
        var request = Self.smallSweep()
        request.axes = [Self.range("n1", 1, 100, 1), Self.range("n2", 1, 200, 1)]
        request.workers = 1
        let started = try await client.startSweep(request)
        #expect(started.total == 14_950)
        var events: [SweepProgressEvent] = []
        var stopped: StopSweepResponse?
        try await client.watchSweep(WatchSweepRequest(sweepID: started.sweepID)) { event in
            events.append(event)
            if stopped == nil && event.done > 0 {
                stopped = try await client.stopSweep(StopSweepRequest(sweepID: started.sweepID, reason: "enough"))
            }
        }
        #expect(stopped?.status == .stopped && stopped?.alreadyEnded == false)
        #expect(events.filter { $0.kind == .terminal }.count == 1)
        let terminal = try #require(events.last)
        #expect(terminal.status == .stopped && terminal.stopReason == "enough" && terminal.done < 14_950)
        let sweep = try #require(try await client.getSweep(GetSweepRequest(sweepID: started.sweepID)).sweep)
        #expect(sweep.status == .stopped && sweep.done == terminal.done)
        let again = try await client.stopSweep(StopSweepRequest(sweepID: started.sweepID))
        #expect(again.alreadyEnded && again.status == .stopped)
    }

    @Test func badInputIsRefusedNamingTheField() async throws {
        let (_, client) = try await Daemon.shared.get()
        func refusal(_ change: (inout StartSweepRequest) -> Void) async -> RPCError? {
            var request = Self.smallSweep()
            change(&request)
            return await Self.status { try await client.startSweep(request) }
        }
        let cases: [(String, (inout StartSweepRequest) -> Void)] = [
            ("axes[0].name: unknown parameter \"n3\"", { $0.axes[0].name = "n3" }),
            ("axes[1].values: empty", { $0.axes[1].values = .list(ValueList(values: [])) }),
            ("axes[0].range.step: must be above 0", { $0.axes[0] = Self.range("n1", 5, 10, 0) }),
            (
                "axes: too many combinations",
                {
                    $0.axes = [Self.range("n1", 1, 100, 1), Self.range("n2", 1, 200, 1)]
                    $0.constraints = []
                }
            ),
            ("objective: unknown statistic \"sharpness\"", { $0.objective = "sharpness" }),
            ("constraints[0]: \"n1 << n2\" at 5", { $0.constraints = ["n1 << n2"] }),
            ("backtest.symbol: required", { $0.backtest?.symbol = "" }),
            ("backtest: required", { $0.backtest = nil }),
        ]
        for (prefix, change) in cases {
            let error = await refusal(change)
            #expect(error?.code == .invalidArgument, "\(prefix): \(String(describing: error))")
            #expect(error?.message.hasPrefix(prefix) == true, "\(String(describing: error?.message))")
        }
        let missing = await Self.status { try await client.getSweep(GetSweepRequest(sweepID: "nope")) }
        #expect(missing?.code == .notFound && missing?.message.hasPrefix("sweep_id: no sweep") == true)
        let stopMissing = await Self.status { try await client.stopSweep(StopSweepRequest(sweepID: "nope")) }
        #expect(stopMissing?.code == .notFound)
        let noId = await Self.status { try await client.getSweep(GetSweepRequest(sweepID: "")) }
        #expect(noId?.code == .invalidArgument && noId?.message.hasPrefix("sweep_id") == true)
        let started = try await client.startSweep(Self.smallSweep())
        let badSort = await Self.status {
            try await client.getSweep(GetSweepRequest(sweepID: started.sweepID, sortBy: "luck"))
        }
        #expect(badSort?.code == .invalidArgument && badSort?.message.hasPrefix("sort_by") == true)
        _ = try await Self.events(client, started.sweepID)
    }
}
