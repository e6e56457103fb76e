import BacktestEngine
import BacktestProto
import BacktestStore
import Foundation
import TestSupport
@testable import BacktestService
import Testing

/// A store that becomes unreachable mid-run: the session fails with the reason and is
/// never reported complete.
@Suite struct StoreFailureTests {
    @Test func aStoreLostMidRunFailsTheSessionWithTheReason() async throws {
        let dir = try DaemonProcess.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let sqlite = try SQLiteStore(path: dir.appendingPathComponent("s.db").path)
        let store = FaultyStore(sqlite)
        let importer = try await store.beginImport(symbol: "GOOG", kind: .candles, timeframe: "1d", replaceExisting: false)
        try await importer.append(candles: try GoogData.candles())
        _ = try await importer.commit()

        let registry = EngineRegistry(store: store, limits: .init(maxRunning: 1, maxQueued: 4, storeRetryBudget: .milliseconds(300)))
        var request = StartBacktestRequest()
        request.symbol = "GOOG"
        request.timeframe = "1d"
        request.startTime = ProtoTimestamp(microsecondsSinceEpoch: 1_092_873_600_000_000)
        request.endTime = ProtoTimestamp(microsecondsSinceEpoch: 1_362_182_400_000_000)
        request.initialCapital = 10_000
        request.accelerationFactor = 3117 * 86_400 / 4
        request.strategy = StrategySpec(kind: .builtin(BuiltinStrategy(name: "sma_cross")))
        let started = try await registry.start(request)
        let id = started.sessionID
        try await Task.sleep(for: .seconds(1.5))
        store.breakNow()

        guard case .live(let hub, _) = try await registry.watchSource(id) else {
            Issue.record("the session ended before the store broke")
            return
        }
        let subscription = hub.subscribe()
        for await _ in subscription.wakeups where hub.latest.kind == .terminal { break }
        let terminal = hub.latest
        #expect(terminal.status == .failed)
        #expect(terminal.errorMessage.contains("unavailable"), "\(terminal.errorMessage)")
        // The store never saw it completed: it still says running, and the next
        // start-up marks it failed as interrupted.
        let stored = try await sqlite.session(id: id)
        #expect(stored?.state == .running)
        let memory = try await registry.record(id)
        #expect(memory?.state == .failed)
        let recovered = try await EngineRegistry(store: sqlite).recoverInterrupted()
        #expect(recovered == 1)
        #expect(try await sqlite.session(id: id)?.errorMessage == EngineRegistry.interruptedMessage)
    }
}
