import Testing

@testable import BacktestProto

@Suite struct RoundTripTests {
    /// Every message type, every sample variant: all fields set, nested and repeated
    /// fields, maps, every oneof member, empty strings, extreme numbers.
    @Test func everySampleRoundTrips() throws {
        var count = 0
        for type in allSampleTypes {
            count += try roundTripSamples(type)
        }
        #expect(count >= 3 * allSampleTypes.count)
    }

    private func roundTripSamples<M: ProtoMessage & SampleFillable>(_ type: M.Type) throws -> Int {
        for v in 0..<M.sampleVariants {
            let sample = M.sample(v, depth: 0)
            let bytes = try sample.serializedBytes()
            #expect(try M(serializedBytes: bytes) == sample, "\(M.protoName) variant \(v)")
            // Encoding is deterministic.
            #expect(try sample.serializedBytes() == bytes)
        }
        return M.sampleVariants
    }

    @Test func defaultMessagesEncodeToNothing() throws {
        #expect(try StartBacktestRequest().serializedBytes() == [])
        #expect(try StartBacktestRequest(serializedBytes: []) == StartBacktestRequest())
        #expect(try ProgressEvent(serializedBytes: []) == ProgressEvent())
    }

    @Test func startRequestWithEveryFeature() throws {
        let request = StartBacktestRequest(
            symbol: "GOOG",
            timeframe: "1d",
            startTime: ProtoTimestamp(microsecondsSinceEpoch: 1_092_873_600_000_000),
            endTime: ProtoTimestamp(microsecondsSinceEpoch: 1_362_096_000_000_000),
            initialCapital: 10_000,
            strategy: StrategySpec(
                kind: .rules(
                    RuleStrategy(
                        name: "momentum",
                        rules: [
                            Rule(
                                name: "S1", kind: .entryLong,
                                expression: "close / close[1] - 1 > $m and volume / sma(volume, 20) > 1.5"),
                            Rule(
                                name: "X1", kind: .exitLong, expression: "crosses_below(sma(close, 10), sma(close, 20))"
                            ),
                        ],
                        stopLossPct: 5, takeProfitPct: 10, trailingStopPct: 0,
                        params: ["m": 0.001]
                    ))),
            costs: Costs(commissionFixed: 1, commissionRate: 0.002, slippageBps: 2.5),
            fillMode: .onClose,
            sizing: Sizing(mode: .equityFraction, value: 0.5, fractionalUnits: true),
            accelerationFactor: 3600,
            equitySampleInterval: ProtoDuration(seconds: 60, nanos: 0),
            clientRequestID: "req-1",
            labels: ["desk": "equities", "owner": "ana", "": "empty key", "ünï": "cödé"],
            leaveOpenAtEnd: true
        )
        let decoded = try StartBacktestRequest(serializedBytes: request.serializedBytes())
        #expect(decoded == request)
    }

    @Test func negativeTimestampsAndExtremeNumbers() throws {
        let event = ProgressEvent(
            sessionID: "",
            sequence: .max,
            kind: .terminal,
            status: .failed,
            progressPct: 100,
            simTime: ProtoTimestamp(microsecondsSinceEpoch: -1),
            equity: -.greatestFiniteMagnitude,
            cash: .infinity,
            realizedPnl: -.infinity,
            unrealizedPnl: .leastNonzeroMagnitude,
            drawdownPct: -0.0,
            eventsProcessed: .max,
            eta: ProtoDuration(seconds: -5, nanos: -1),
            errorMessage: "boom: ✗\n"
        )
        let decoded = try ProgressEvent(serializedBytes: event.serializedBytes())
        #expect(decoded == event)
        #expect(decoded.simTime == ProtoTimestamp(seconds: -1, nanos: 999_999_000))
    }

    @Test func nanSurvivesTheWire() throws {
        let stats = Statistics(sharpeRatio: .nan, winRatePct: .nan)
        let decoded = try Statistics(serializedBytes: stats.serializedBytes())
        #expect(decoded.winRatePct.isNaN)
        #expect(decoded.sharpeRatio.isNaN)
    }

    @Test func largeColumnarBatch() throws {
        let n = 100_000
        let batch = CandleBatch(
            timeUs: (0..<n).map { Int64($0) * 60_000_000 },
            open: (0..<n).map { Double($0) + 0.25 },
            high: (0..<n).map { Double($0) + 1 },
            low: (0..<n).map { Double($0) - 1 },
            close: (0..<n).map { Double($0) + 0.5 },
            volume: (0..<n).map { Double($0 * 10) }
        )
        let request = ImportMarketDataRequest(payload: .candles(batch))
        #expect(try ImportMarketDataRequest(serializedBytes: request.serializedBytes()) == request)
    }

    @Test func stringsWithNULAreRefusedNotTruncated() {
        let request = StartBacktestRequest(symbol: "GO\u{0}OG")
        #expect(throws: ProtoError.stringContainsNUL(field: "backtest.v1.StartBacktestRequest.symbol")) {
            try request.serializedBytes()
        }
        let labels = StartBacktestRequest(labels: ["k": "v\u{0}"])
        #expect(throws: ProtoError.stringContainsNUL(field: "backtest.v1.StartBacktestRequest.labels.value")) {
            try labels.serializedBytes()
        }
    }
}
