import BacktestEngine
import BacktestStore
import Foundation
import Logging
import Testing

@testable import BacktestCore

/// Retention: ended sessions past their age or beyond the count are deleted by each
/// housekeeping round; live sessions are never counted or touched. Time is a manual
/// clock: sessions end at the times the test sets.
@Suite struct HousekeeperTests {
    @Test func thePolicyKeepsByEndTimeAndByCount() {
        let hour: Int64 = 3_600_000_000
        func ended(_ at: Int64?, created: Int64 = 0) -> SessionRecord {
            SessionRecord(
                id: "s", state: .completed, symbol: "X", timeframe: "1d", range: TimeRange(start: 0, end: 1),
                strategyName: "", accelerationFactor: 0, request: [], createdAt: created, completedAt: at)
        }
        let byAge = RetentionPolicy(maxAge: .seconds(7200))
        #expect(byAge.expires(ended(10 * hour - 2 * hour - 1), rank: 0, now: 10 * hour))
        #expect(!byAge.expires(ended(10 * hour - 2 * hour), rank: 0, now: 10 * hour))
        // No end time (never the case for ended sessions today): its creation counts.
        #expect(byAge.expires(ended(nil, created: hour), rank: 0, now: 10 * hour))
        let byCount = RetentionPolicy(maxCount: 2)
        #expect(!byCount.expires(ended(0), rank: 1, now: 10 * hour))
        #expect(byCount.expires(ended(10 * hour), rank: 2, now: 10 * hour))
        #expect(RetentionPolicy().keepsEverything && !byCount.keepsEverything)
        #expect(RetentionPolicy(maxCount: -3).maxCount == 0)
        // An age beyond any clock keeps everything rather than wrapping around.
        #expect(!RetentionPolicy(maxAge: .seconds(Int64.max)).expires(ended(0), rank: 0, now: 10 * hour))
    }

    @Test func aRoundDeletesWhatThePolicyLetsGoAndNeverALiveSession() async throws {
        let clock = ManualClock()
        let fixture = try await CoreFixture(clock: clock)
        defer { fixture.remove() }
        let registry = fixture.registry
        // Four sessions ending an hour apart (unpaced: each ends at the clock's time).
        var ended: [String] = []
        for i in 0..<4 {
            let id = try await registry.start(CoreFixture.goog(capital: Double(10_000 + i))).sessionId
            _ = try await registry.waitFor(id, [.completed])
            ended.append(id)
            clock.advance(by: .seconds(3600))
        }
        // A live one, older than any age limit by the end.
        let live = try await registry.start(CoreFixture.goog(seconds: 1_000_000)).sessionId
        _ = try await registry.waitFor(live, [.running])
        clock.advance(by: .seconds(1800))
        // Now: 4.5 hours after the first ended. Three hours keeps the last two.
        let byAge = Housekeeper(
            registry: registry, policy: RetentionPolicy(maxAge: .seconds(10_800)), clock: clock,
            logger: Logger(label: "test"))
        let first = try await byAge.runOnce()
        #expect(first.deleted == 2)
        for id in ended.prefix(2) { #expect(try await registry.record(id) == nil) }
        for id in ended.suffix(2) { #expect(try await registry.record(id)?.state == .completed) }
        #expect(try await byAge.runOnce().deleted == 0, "nothing more is due")

        // By count: the newest one stays, the live one is neither counted nor touched.
        let byCount = Housekeeper(
            registry: registry, policy: RetentionPolicy(maxCount: 1), clock: clock, logger: Logger(label: "test"))
        #expect(try await byCount.runOnce().deleted == 1)
        #expect(try await registry.record(ended[2]) == nil)
        #expect(try await registry.record(ended[3])?.state == .completed)
        #expect(try await registry.record(live)?.state == .running)
        #expect(await registry.active(symbol: "").map(\.record.id) == [live])

        // Keeping everything deletes nothing.
        let none = Housekeeper(registry: registry, policy: RetentionPolicy(), clock: clock, logger: Logger(label: "t"))
        #expect(try await none.runOnce().deleted == 0)
        _ = try await registry.stop(live, reason: "")
        #expect(try await byCount.runOnce().deleted == 1, "stopped, it is counted: the newest stays")
        #expect(try await registry.record(ended[3]) == nil)
        #expect(try await registry.record(live)?.state == .stopped)
    }

    /// The rounds run at start and then every interval of the service's clock.
    @Test func roundsRunAtStartAndEveryInterval() async throws {
        let clock = ManualClock()
        let fixture = try await CoreFixture(clock: clock)
        defer { fixture.remove() }
        let registry = fixture.registry
        let id = try await registry.start(CoreFixture.goog()).sessionId
        _ = try await registry.waitFor(id, [.completed])
        let housekeeper = Housekeeper(
            registry: registry, policy: RetentionPolicy(maxAge: .seconds(60)), clock: clock,
            logger: Logger(label: "test"))
        housekeeper.start(interval: .seconds(600))
        // The first round (at start) finds it young; it then sleeps for the interval.
        while clock.sleeperCount == 0 { await Task.yield() }
        #expect(try await registry.record(id) != nil)
        clock.advance(by: .seconds(600))
        while try await registry.record(id) != nil { await Task.yield() }
        await housekeeper.stop()
    }
}
