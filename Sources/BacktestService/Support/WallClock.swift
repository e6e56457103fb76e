import Foundation

/// The wall clock in the service's unit: microseconds since the Unix epoch. Only the
/// service reads it; the engine knows no clock.
enum WallClock {
    static func nowMicros() -> Int64 {
        Int64((Date().timeIntervalSince1970 * 1_000_000).rounded())
    }
}
