import BacktestEngine
import BacktestStore
import Foundation
import Logging
import TestSupport
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

    @Test func thePolicyCountsSweepsOnTheirOwn() {
        let hour: Int64 = 3_600_000_000
        func sweep(_ at: Int64?) -> SweepRecord {
            SweepRecord(
                id: "w", state: .completed, symbol: "X", timeframe: "1d", range: TimeRange(start: 0, end: 1),
                strategyName: "", request: [], objective: "sharpe_ratio", maximize: true, total: 1, topK: 1,
                createdAt: 0, completedAt: at)
        }
        let policy = RetentionPolicy(maxAge: .seconds(7200), maxCount: 1, maxSweepCount: 3)
        #expect(!policy.expires(sweep(10 * hour), rank: 2, now: 10 * hour), "the sessions' count is not the sweeps'")
        #expect(policy.expires(sweep(10 * hour), rank: 3, now: 10 * hour))
        #expect(policy.expires(sweep(7 * hour), rank: 0, now: 10 * hour), "the same age")
        #expect(!RetentionPolicy(maxCount: 1).expires(sweep(0), rank: 5, now: 10 * hour), "no sweep count: any number")
        #expect(!RetentionPolicy(maxSweepCount: 0).keepsEverything)
    }

    /// Sweeps go by age and by their own count, with the sessions they stored; those
    /// sessions are neither counted nor deleted as sessions while their sweep is kept;
    /// live sweeps are never touched.
    @Test func aRoundDeletesEndedSweepsWithTheirSessions() async throws {
        let clock = ManualClock()
        let fixture = try await CoreFixture(clock: clock)
        defer { fixture.remove() }
        let registry = fixture.registry
        let sweeps = SweepRegistry(store: fixture.store, clock: clock)
        // Three sweeps ending an hour apart, each with two best sessions; then a plain session.
        var ended: [String] = []
        for _ in 0..<3 {
            let id = try await sweeps.start(SweepRegistryTests.smallSweep(topK: 2)).sweepId
            // (Polled: a watch would wait on the manual clock.)
            while try await sweeps.record(id)?.state != .completed { try await Task.sleep(for: .milliseconds(5)) }
            ended.append(id)
            clock.advance(by: .seconds(3600))
        }
        let plain = try await registry.start(CoreFixture.goog()).sessionId
        _ = try await registry.waitFor(plain, [.completed])
        // A live sweep, older than any age limit by the end.
        let live = try await sweeps.start(SweepRegistryDeleteTests.longSweep()).sweepId
        while (try await sweeps.record(live))?.state != .running { try await Task.sleep(for: .milliseconds(5)) }
        clock.advance(by: .seconds(1800))
        func sessions(of sweep: String) async throws -> Int {
            try await SweepRegistryDeleteTests.sessionsLabelled(fixture.store, sweep).count
        }

        // One session kept: the plain one. The sweeps' six are not counted, nor deleted.
        let bySessions = Housekeeper(
            registry: registry, sweeps: sweeps, policy: RetentionPolicy(maxCount: 1), clock: clock,
            logger: Logger(label: "test"))
        #expect(try await bySessions.runOnce() == Housekeeper.Report())
        for id in ended { #expect(try await sessions(of: id) == 2) }
        #expect(try await registry.record(plain) != nil)

        // 2.5 hours: the oldest sweep ended 3.5 hours ago and goes, with its sessions.
        let byAge = Housekeeper(
            registry: registry, sweeps: sweeps, policy: RetentionPolicy(maxAge: .seconds(9000)), clock: clock,
            logger: Logger(label: "test"))
        let first = try await byAge.runOnce()
        #expect(first.sweepsDeleted == 1 && first.sweepSessionsDeleted == 2 && first.deleted == 0, "\(first)")
        #expect(try await sweeps.record(ended[0]) == nil)
        #expect(try await sessions(of: ended[0]) == 0)
        #expect(try await byAge.runOnce().sweepsDeleted == 0, "nothing more is due")

        // By count: the newest ended sweep stays; the live one is neither counted nor touched.
        let byCount = Housekeeper(
            registry: registry, sweeps: sweeps, policy: RetentionPolicy(maxSweepCount: 1), clock: clock,
            logger: Logger(label: "test"))
        let second = try await byCount.runOnce()
        #expect(second.sweepsDeleted == 1 && second.sweepSessionsDeleted == 2, "\(second)")
        #expect(try await sweeps.record(ended[1]) == nil)
        #expect(try await sessions(of: ended[1]) == 0)
        #expect(try await sweeps.record(ended[2])?.state == .completed)
        #expect(try await sessions(of: ended[2]) == 2)
        #expect(try await sweeps.record(live)?.state == .running)
        #expect(try await registry.record(plain) != nil)

        // Kept sessions of a deleted sweep are sessions like any other again.
        _ = try await sweeps.delete(ended[2], keepSessions: true, sessions: registry)
        let third = try await bySessions.runOnce()
        #expect(third.deleted == 2, "\(third)")
        #expect(try await sessions(of: ended[2]) == 0)
        #expect(try await registry.record(plain) != nil, "the newest session stays")
        _ = try await sweeps.stop(live, reason: "")
    }

    /// A store without sweeps (QuestDB here): sweep retention has nothing to do, and a
    /// session labelled with a sweep is a session like any other.
    @Test func aStoreWithoutSweepsKeepsSessionRetention() async throws {
        let clock = ManualClock()
        let fixture = try await CoreFixture(clock: clock, store: { FaultyStore($0) })
        defer { fixture.remove() }
        let registry = fixture.registry
        var ids: [String] = []
        for i in 0..<2 {
            let id = try await registry.start(CoreFixture.goog(capital: Double(10_000 + i), labels: ["sweep": "x"]))
                .sessionId
            _ = try await registry.waitFor(id, [.completed])
            ids.append(id)
            clock.advance(by: .seconds(60))
        }
        let housekeeper = Housekeeper(
            registry: registry, sweeps: SweepRegistry(store: registry.store, clock: clock),
            policy: RetentionPolicy(maxCount: 1), clock: clock, logger: Logger(label: "test"))
        let report = try await housekeeper.runOnce()
        #expect(report.deleted == 1 && report.sweepsDeleted == 0, "\(report)")
        #expect(try await registry.record(ids[0]) == nil)
        #expect(try await registry.record(ids[1]) != nil)
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
