import BacktestProto
import Foundation
import HTTP2Transport
import RPC
import TestSupport
import Testing

/// Walk-forwards through the real `backtestd` and the generated client over HTTP/2:
/// GetSweep answers with the windows and the stitched result, whose session serves
/// GetTrades and GetEquityCurve; a window's out-of-sample statistics are the single
/// backtest's; bad cuts are refused naming the field.
@Suite struct WalkForwardEndToEndTests {
    static func walkForward(windows: UInt32 = 3) -> StartSweepRequest {
        var r = SweepEndToEndTests.smallSweep()
        r.topK = 0
        r.walkForward = WalkForward(windows: windows)
        return r
    }

    @Test func getSweepAnswersWithTheWindowsAndTheStitchedSession() async throws {
        let (_, client) = try await SweepEndToEndTests.Daemon.shared.get()
        let started = try await client.startSweep(Self.walkForward())
        #expect(started.total == 3 * 18)
        let events = try await SweepEndToEndTests.events(client, started.sweepID)
        let terminal = try #require(events.last)
        #expect(terminal.kind == .terminal && terminal.status == .completed && terminal.windows == 3)
        #expect(events.map(\.window).max() == 2)

        let got = try await client.getSweep(GetSweepRequest(sweepID: started.sweepID))
        #expect(got.results.isEmpty && got.sweep?.done == 54)
        #expect(got.sweep?.request?.walkForward?.inSampleRatio == 3, "the default, as accepted")
        #expect(got.sweep?.request?.topK == 0)
        let result = try #require(got.walkForward)
        #expect(result.windows.map(\.index) == [0, 1, 2])
        #expect(result.windows.allSatisfy { $0.params.count == 2 && $0.outOfSampleStatistics != nil })
        #expect(result.windows.last?.outOfSampleEnd == SweepEndToEndTests.backtest().endTime)

        // The first window's out-of-sample result is the single backtest of its range.
        let first = result.windows[0]
        let params = Dictionary(uniqueKeysWithValues: first.params.map { ($0.name, $0.value) })
        var single = SweepEndToEndTests.backtest(n1: params["n1"]!, n2: params["n2"]!)
        single.startTime = first.outOfSampleStart
        single.endTime = first.outOfSampleEnd
        let session = try await client.startBacktest(single)
        var last: ProgressEvent?
        try await client.watchProgress(WatchProgressRequest(sessionID: session.sessionID)) { last = $0 }
        let expected = try #require(last?.statistics)
        #expect(try first.outOfSampleStatistics?.serializedBytes() == expected.serializedBytes())

        // The stitched run is a session with its trades and equity curve.
        let statistics = try #require(result.statistics)
        let stitched = try #require(
            try await client.getSession(GetSessionRequest(sessionID: result.sessionID)).session)
        #expect(stitched.status == .completed)
        // Its request: the base one over the out-of-sample span.
        #expect(stitched.request?.startTime == first.outOfSampleStart)
        #expect(stitched.request?.endTime == result.windows.last?.outOfSampleEnd)
        #expect(stitched.request?.symbol == "GOOG")
        var labelled = ListSessionsRequest()
        labelled.labels = ["sweep": started.sweepID, "walk_forward": "oos"]
        #expect(try await client.listSessions(labelled).sessions.map(\.sessionID) == [result.sessionID])
        #expect(try stitched.statistics?.serializedBytes() == statistics.serializedBytes())
        var trades = 0
        try await client.getTrades(GetTradesRequest(sessionID: result.sessionID)) { trades += $0.trades.count }
        #expect(UInt64(trades) == statistics.totalTrades)
        var points: [EquityPoint] = []
        try await client.getEquityCurve(GetEquityCurveRequest(sessionID: result.sessionID)) { points += $0.points }
        // The first bar of the first out-of-sample window (windows are cut in time).
        let firstTime = try #require(points.first?.time?.microsecondsSinceEpoch)
        let oosStart = try #require(first.outOfSampleStart?.microsecondsSinceEpoch)
        #expect(firstTime >= oosStart && firstTime < oosStart + 5 * 86_400_000_000)
        #expect(points.last?.equity == statistics.equityFinal)
    }

    @Test func badCutsAreRefusedNamingTheField() async throws {
        let (_, client) = try await SweepEndToEndTests.Daemon.shared.get()
        let cases: [(String, (inout StartSweepRequest) -> Void)] = [
            ("walk_forward.windows: 1 to 100", { $0.walkForward?.windows = 101 }),
            ("walk_forward.windows: required", { $0.walkForward?.windows = 0 }),
            ("walk_forward.in_sample_ratio: above 0", { $0.walkForward?.inSampleRatio = -2 }),
            (
                "walk_forward.in_sample_length: not a valid duration",
                { $0.walkForward?.inSampleLength = ProtoDuration(seconds: 5, nanos: -1) }
            ),
            (
                "walk_forward.out_of_sample_length: required",
                {
                    $0.walkForward?.windows = 0
                    $0.walkForward?.inSampleLength = ProtoDuration(seconds: 86_400 * 500, nanos: 0)
                }
            ),
            ("top_k: a walk-forward keeps", { $0.topK = 3 }),
            ("backtest.timeframe: a walk-forward needs candles", { $0.backtest?.timeframe = "tick" }),
        ]
        for (prefix, change) in cases {
            var request = Self.walkForward()
            change(&request)
            let error = await SweepEndToEndTests.status { try await client.startSweep(request) }
            #expect(error?.code == .invalidArgument, "\(prefix): \(String(describing: error))")
            #expect(error?.message.hasPrefix(prefix) == true, "\(String(describing: error?.message))")
        }
    }
}
