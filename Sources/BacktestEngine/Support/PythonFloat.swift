/// Python's float floor division, so that whole-unit order sizes come out exactly as
/// backtesting.py's `int(margin * fraction // price_per_unit)`.
enum PythonFloat {
    /// `vx // wx` as CPython computes it. For operands in [2^-400, 2^400] with a quotient
    /// below 2^50 (every order size) that is the exact mathematical floor of vx / wx
    /// (CPython's `(vx - fmod(vx, wx)) / wx` is then within 1/4 of an integer, which it
    /// rounds to), found here with one division and an exact product check instead of
    /// `fmod` (whose loop runs over the exponent difference); anything else goes the
    /// CPython way.
    @inline(__always)
    static func floorDivide(_ vx: Double, _ wx: Double) -> Double {
        if vx >= 0x1p-400 && vx <= 0x1p400 && wx >= 0x1p-400 && wx <= 0x1p400 {
            let d = vx / wx
            if d < 0x1p50 {
                // floor(d) is floor(vx / wx) or one more (d may round up onto an integer).
                let q = d.rounded(.down)
                return productExceeds(q, wx, vx) ? q - 1 : q
            }
        }
        return cpythonFloorDivide(vx, wx)
    }

    /// True when the exact product a * b is greater than c (for operands far from
    /// overflow and underflow).
    @inline(__always)
    static func productExceeds(_ a: Double, _ b: Double, _ c: Double) -> Bool {
        let p = a * b
        if p != c { return p > c }  // rounding is monotonic
        // p == c: the sign of the rounding error decides (Dekker's exact product).
        let (ah, al) = split(a), (bh, bl) = split(b)
        let e = ((ah * bh - p) + ah * bl + al * bh) + al * bl
        return e > 0
    }

    /// Veltkamp's split: a = high + low with each half exactly multipliable.
    @inline(__always)
    private static func split(_ a: Double) -> (Double, Double) {
        let c = 134_217_729 * a  // 2^27 + 1
        let high = c - (c - a)
        return (high, a - high)
    }

    /// CPython's `float_floor_div` (`_float_div_mod`), step for step.
    static func cpythonFloorDivide(_ vx: Double, _ wx: Double) -> Double {
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
