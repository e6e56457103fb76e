/// A run's hold on a run slot. Slots count CPU work, not sessions: a paced run that
/// is about to sleep for a while gives its slot back (the next session runs in the
/// meantime) and takes one again when it wakes.
struct RunLease: Sendable {
    /// Sleeps shorter than this keep the slot (handing it over would cost more).
    var minimumSleep = Duration.milliseconds(10)
    /// Gives the slot back; `until` is when the run will want one again (the clock's time).
    let release: @Sendable (_ until: Duration) async -> Void
    /// Waits for a slot (at once when stopping, so a stop is never held up).
    let reacquire: @Sendable () async -> Void

    /// A lease that never lets go: for runs outside a registry.
    static let held = RunLease(release: { _ in }, reacquire: {})
}
