/// Durations as flags take them: a number with a unit, `90s`, `45m`, `12h`, `30d`,
/// `2w`, or a bare number of seconds. Whole units only would be too strict for `1.5h`,
/// so the number may have a fraction; it must be finite and not negative.
enum DurationText {
    static func parse(_ text: String) -> Duration? {
        let units: [(suffix: Character, seconds: Double)] = [
            ("s", 1), ("m", 60), ("h", 3600), ("d", 86_400), ("w", 604_800),
        ]
        var body = Substring(text)
        var scale = 1.0
        if let last = body.last, let unit = units.first(where: { $0.suffix == last }) {
            body = body.dropLast()
            scale = unit.seconds
        }
        // Digits and one point only: no sign, exponent, inf or nan.
        guard !body.isEmpty, body.allSatisfy({ $0.isASCII && ($0.isNumber || $0 == ".") }),
            let value = Double(body), value.isFinite
        else { return nil }
        let seconds = value * scale
        guard seconds < 1e15 else { return nil }
        return .milliseconds(Int64((seconds * 1000).rounded()))
    }
}
