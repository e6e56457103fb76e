import Foundation

/// The time the service reads, injected so its timing (pacing, progress intervals,
/// rates, ETAs, watch intervals) can be tested without sleeping. `now` is monotonic,
/// measured from an origin of the clock's choosing; `wallMicros` is the wall clock
/// for timestamps, in microseconds since the Unix epoch. The engine knows no clock.
public protocol ServiceClock: Sendable {
    var now: Duration { get }
    /// Suspends until `now >= deadline` (or throws CancellationError).
    func sleep(until deadline: Duration) async throws
    var wallMicros: Int64 { get }
}

extension ServiceClock {
    public func sleep(for duration: Duration) async throws {
        try await sleep(until: now + duration)
    }
}

/// The real clocks: `ContinuousClock` (which counts suspended time too) and the
/// system's wall clock.
public struct SystemClock: ServiceClock {
    private static let origin = ContinuousClock.now

    public init() {}

    public var now: Duration { ContinuousClock.now - Self.origin }

    public func sleep(until deadline: Duration) async throws {
        try await Task.sleep(until: Self.origin + deadline, clock: .continuous)
    }

    public var wallMicros: Int64 { Int64((Date().timeIntervalSince1970 * 1_000_000).rounded()) }
}
