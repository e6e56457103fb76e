import BacktestEngine
import TimeKit

/// A walk-forward's windows over the base range, checked (fields named
/// `walk_forward.*`). Windows are cut in time, not in bars, so each in-sample sweep and
/// each out-of-sample run reads exactly the bars a StartSweep or StartBacktest of that
/// range would (docs/DESIGN.md section 13.9).
struct WalkForwardPlan: Sendable, Equatable {
    struct Window: Sendable, Equatable {
        var inSample: TimeRange
        var outOfSample: TimeRange
    }

    let windows: [Window]
    let anchored: Bool

    init(_ spec: WalkForwardSpec, range: TimeRange) throws(ServiceError) {
        let total = range.end - range.start
        let inSampleLength: Int64
        let outOfSampleLength: Int64
        let count: Int
        let lengthsGiven = spec.inSampleLength != nil || spec.outOfSampleLength != nil
        guard spec.windows >= 0, spec.windows <= WalkForwardSpec.maxWindows else {
            throw .invalid("walk_forward.windows", "1 to \(WalkForwardSpec.maxWindows), got \(spec.windows)")
        }
        guard spec.inSampleRatio.isFinite, spec.inSampleRatio >= 0, spec.inSampleRatio <= WalkForwardSpec.maxRatio
        else {
            throw .invalid(
                "walk_forward.in_sample_ratio",
                "above 0 and at most \(WalkForwardSpec.maxRatio) (0 = \(WalkForwardSpec.defaultRatio)), got \(spec.inSampleRatio)"
            )
        }
        if lengthsGiven {
            guard spec.windows == 0 else {
                throw .invalid(
                    "walk_forward.windows", "give either windows (with in_sample_ratio) or the two lengths, not both")
            }
            guard spec.inSampleRatio == 0 else {
                throw .invalid("walk_forward.in_sample_ratio", "the lengths set the ratio: leave it 0")
            }
            guard let isLength = spec.inSampleLength else {
                throw .invalid("walk_forward.in_sample_length", "required with out_of_sample_length")
            }
            guard let oosLength = spec.outOfSampleLength else {
                throw .invalid("walk_forward.out_of_sample_length", "required with in_sample_length")
            }
            guard isLength > 0 else { throw .invalid("walk_forward.in_sample_length", "must be positive") }
            guard oosLength > 0 else { throw .invalid("walk_forward.out_of_sample_length", "must be positive") }
            guard isLength < total, oosLength <= total - isLength else {
                throw .invalid(
                    "walk_forward.in_sample_length",
                    "in-sample and out-of-sample lengths together are longer than the range \(UTCTime.range(range.start, range.end))"
                )
            }
            let fit = (total - isLength) / oosLength
            guard fit <= Int64(WalkForwardSpec.maxWindows) else {
                throw .invalid(
                    "walk_forward.out_of_sample_length",
                    "makes \(fit) windows in the range, more than \(WalkForwardSpec.maxWindows)")
            }
            inSampleLength = isLength
            outOfSampleLength = oosLength
            count = Int(fit)
        } else {
            guard spec.windows > 0 else {
                throw .invalid(
                    "walk_forward.windows",
                    "required: 1 to \(WalkForwardSpec.maxWindows), or in_sample_length and out_of_sample_length")
            }
            let ratio = spec.inSampleRatio == 0 ? WalkForwardSpec.defaultRatio : spec.inSampleRatio
            // The in-sample part takes what is left after the whole out-of-sample
            // windows, so the last window ends at the range's end.
            let exact = Int64((Double(total) / (ratio + Double(spec.windows))).rounded(.down))
            let oos = Self.roundedDown(exact)
            let inSample = total - Int64(spec.windows) * oos
            guard oos >= 1, inSample >= 1 else {
                throw .invalid(
                    "walk_forward.windows",
                    "the range \(UTCTime.range(range.start, range.end)) is too short for \(spec.windows) windows")
            }
            inSampleLength = inSample
            outOfSampleLength = oos
            count = spec.windows
        }
        anchored = spec.anchored
        windows = (0..<count).map { k in
            let oosStart = range.start + inSampleLength + Int64(k) * outOfSampleLength
            return Window(
                inSample: TimeRange(start: spec.anchored ? range.start : oosStart - inSampleLength, end: oosStart),
                outOfSample: TimeRange(start: oosStart, end: oosStart + outOfSampleLength))
        }
    }

    /// A length rounded down to whole days, hours, minutes or seconds, the largest unit
    /// it holds ten of: windows of daily bars then start at midnight, as the bars do.
    static func roundedDown(_ micros: Int64) -> Int64 {
        for unit: Int64 in [86_400_000_000, 3_600_000_000, 60_000_000, 1_000_000] where micros >= 10 * unit {
            return micros / unit * unit
        }
        return micros
    }
}
