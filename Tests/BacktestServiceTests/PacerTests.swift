@testable import BacktestService
import Testing

@Suite struct PacerTests {
    @Test func dueTimesFollowTheFactor() {
        let start = ContinuousClock.now
        let pacer = Pacer(factor: 3600, simStart: 0, wallStart: start)
        #expect(pacer.due(3_600_000_000) == start + .seconds(1))
        #expect(pacer.due(1_800_000_000) == start + .milliseconds(500))
        #expect(pacer.due(-5) == start, "rows before the start are due at once")
    }

    @Test func unthrottledAdmitsEverything() async throws {
        let pacer = Pacer(factor: 0, simStart: 0, wallStart: .now)
        let k = try await pacer.admit([1, 2, 3] as [Int64], from: 0, control: RunControl()) { $0 }
        #expect(k == 3)
    }

    @Test func pacedAdmitsWhatIsDueAndSleepsForTheRest() async throws {
        let pacer = Pacer(factor: 1, simStart: 0, wallStart: .now)
        let rows: [Int64] = [0, 100, 200_000, 10_000_000_000]
        let now = try await pacer.admit(rows, from: 0, control: RunControl()) { $0 }
        #expect(now == 2)
        let t0 = ContinuousClock.now
        let after = try await pacer.admit(rows, from: 2, control: RunControl()) { $0 }
        #expect(after == 2)
        #expect(ContinuousClock.now - t0 >= .milliseconds(150), "slept until the row was due")
        let control = RunControl()
        control.requestStop("test")
        let t1 = ContinuousClock.now
        #expect(try await pacer.admit(rows, from: 3, control: control) { $0 } == 3)
        #expect(ContinuousClock.now - t1 < .seconds(1), "a stop cuts the sleep short")
    }
}
