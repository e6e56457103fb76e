/// Python's float floor division, step for step (CPython `_float_div_mod`), so that
/// whole-unit order sizes come out exactly as backtesting.py's
/// `int(margin * fraction // price_per_unit)`.
enum PythonFloat {
    static func floorDivide(_ vx: Double, _ wx: Double) -> Double {
        var mod = vx.truncatingRemainder(dividingBy: wx)
        var div = (vx - mod) / wx
        if mod != 0 {
            if (wx < 0) != (mod < 0) {
                mod += wx
                div -= 1
            }
        }
        guard div != 0 else { return (vx / wx).sign == .minus ? -0.0 : 0.0 }
        var floorDiv = div.rounded(.down)
        if div - floorDiv > 0.5 { floorDiv += 1 }
        return floorDiv
    }

    /// `1 - sys.float_info.epsilon`: backtesting.py's "all of the equity" order size.
    static let fullEquityFraction: Double = 1 - Double.ulpOfOne
}
