import Testing

@testable import BacktestCore

/// Pacing on an injected clock: exact due times, no sleeping.
@Suite struct PacerTests {
    @Test func dueTimesFollowTheFactor() {
        let start = Duration.seconds(5)
        let pacer = Pacer(factor: 3600, simStart: 0, wallStart: start, clock: VirtualClock())
        #expect(pacer.due(3_600_000_000) == start + .seconds(1))
        #expect(pacer.due(1_800_000_000) == start + .milliseconds(500))
        #expect(pacer.due(-5) == start, "rows before the start are due at once")
    }

    @Test func unthrottledAdmitsEverything() async throws {
        let pacer = Pacer(factor: 0, simStart: 0, wallStart: .zero, clock: ManualClock())
        let k = try await pacer.admit([1, 2, 3] as [Int64], from: 0, control: RunControl()) { $0 }
        #expect(k == 3)
    }

    @Test func pacedAdmitsWhatIsDueAndSleepsUntilTheNextRowIsDue() async throws {
        let clock = VirtualClock()
        let pacer = Pacer(factor: 1, simStart: 0, wallStart: .zero, clock: clock)
        let rows: [Int64] = [0, 100, 200_000, 10_000_000_000]
        #expect(try await pacer.admit(rows, from: 0, control: RunControl()) { $0 } == 2)
        #expect(clock.now == .zero, "nothing was due later: no sleep")
        #expect(try await pacer.admit(rows, from: 2, control: RunControl()) { $0 } == 2)
        #expect(clock.now == .milliseconds(200), "slept exactly until the row was due")
        #expect(try await pacer.admit(rows, from: 2, control: RunControl()) { $0 } == 3)
    }

    @Test func aStopEndsTheSleepAtOnce() async throws {
        let clock = ManualClock()
        let pacer = Pacer(factor: 1, simStart: 0, wallStart: .zero, clock: clock)
        let control = RunControl()
        let waiting = Task { try await pacer.admit([3_600_000_000] as [Int64], from: 0, control: control) { $0 } }
        while clock.sleeperCount == 0 { await Task.yield() }
        control.requestStop("test")
        #expect(try await waiting.value == 0, "returns without admitting; the caller sees the stop")
        #expect(clock.now == .zero, "no time had to pass")
        // Stopped before it sleeps: it does not sleep at all.
        #expect(try await pacer.admit([3_600_000_000] as [Int64], from: 0, control: control) { $0 } == 0)
    }
}
