/// Replays history at `factor` simulated seconds per wall second (0 = unthrottled):
/// a row whose time is t is due at wallStart + (t - simStart) / factor. Waiting
/// sleeps on the service's clock, and a stop request ends the sleep; it never spins.
struct Pacer {
    let factor: Double
    let simStart: Int64
    let wallStart: Duration
    let clock: any ServiceClock
    /// The run's slot, given back while it sleeps.
    let lease: RunLease
    /// Rows due this close to now are taken together (sleeping for less is noise).
    var slack = Duration.milliseconds(1)

    init(factor: Double, simStart: Int64, wallStart: Duration, clock: any ServiceClock, lease: RunLease = .held) {
        self.factor = factor
        self.simStart = simStart
        self.wallStart = wallStart
        self.clock = clock
        self.lease = lease
    }

    func due(_ time: Int64) -> Duration {
        let micros = Double(max(0, time - simStart)) / factor
        return wallStart + .microseconds(Int64(min(micros, 1e15)))
    }

    /// The end k of the rows [from, k) that may be processed now. When row `from` is
    /// not due yet it sleeps until it is (or until a stop is requested) and returns
    /// `from`, so the caller asks again.
    func admit<Row>(_ rows: [Row], from: Int, control: RunControl, _ time: (Row) -> Int64) async throws -> Int {
        guard factor > 0 else { return rows.count }
        let horizon = clock.now + slack
        var k = from
        while k < rows.count, due(time(rows[k])) <= horizon { k += 1 }
        if k > from { return k }
        let target = due(time(rows[from]))
        guard target - clock.now >= lease.minimumSleep, control.stopReason == nil else {
            try await control.sleep(until: target, on: clock)
            return from
        }
        // A real wait: the slot goes to another session meanwhile.
        await lease.release(target)
        do {
            try await control.sleep(until: target, on: clock)
        } catch {
            await lease.reacquire()
            throw error
        }
        await lease.reacquire()
        return from
    }
}
