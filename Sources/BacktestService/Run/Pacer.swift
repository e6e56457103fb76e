/// Replays history at `factor` simulated seconds per wall second (0 = unthrottled):
/// a row whose time is t is due at wallStart + (t - simStart) / factor. Waiting
/// sleeps, in short steps so a stop request is seen promptly; it never spins.
struct Pacer {
    let factor: Double
    let simStart: Int64
    let wallStart: ContinuousClock.Instant
    /// Rows due this close to now are taken together (sleeping for less is noise).
    var slack = Duration.milliseconds(1)
    var sleepStep = Duration.milliseconds(50)

    init(factor: Double, simStart: Int64, wallStart: ContinuousClock.Instant) {
        self.factor = factor
        self.simStart = simStart
        self.wallStart = wallStart
    }

    func due(_ time: Int64) -> ContinuousClock.Instant {
        let micros = Double(max(0, time - simStart)) / factor
        return wallStart + .microseconds(Int64(min(micros, 1e15)))
    }

    /// The end k of the rows [from, k) that may be processed now. When row `from` is
    /// not due yet it sleeps until it is (or until a stop is requested) and returns
    /// `from`, so the caller asks again.
    func admit<Row>(_ rows: [Row], from: Int, control: RunControl, _ time: (Row) -> Int64) async throws -> Int {
        guard factor > 0 else { return rows.count }
        let horizon = ContinuousClock.now + slack
        var k = from
        while k < rows.count, due(time(rows[k])) <= horizon { k += 1 }
        if k > from { return k }
        let target = due(time(rows[from]))
        while control.stopReason == nil {
            let now = ContinuousClock.now
            if now >= target { break }
            try await Task.sleep(until: min(target, now + sleepStep), clock: .continuous)
        }
        return from
    }
}
