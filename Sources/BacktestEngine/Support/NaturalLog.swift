import Foundation

/// The natural logarithm for the statistics' per-bar log returns, written so that a loop
/// over a column vectorises (no table, no call, no branch in the common case):
///
/// - near 1 (|x - 1| <= 1/64, nearly every bar's return), log(1+f) by its series to f^9
///   (the terms left out are below 2^-56 relative; x - 1 is exact there);
/// - other positive normal numbers: fdlibm's `e_log.c` reduction (x = 2^k * m, m in
///   [sqrt(2)/2, sqrt(2))) and its polynomial in s = (m-1)/(m+1), one formula for all;
/// - 0, subnormals, infinity, NaN: the C library.
///
/// Within 1 ulp of the correctly rounded value (glibc's `log` is within ~0.5 ulp, numpy's
/// SIMD `log`, which backtesting.py uses, within a few); log(1) is exactly 0. The result
/// depends on the input alone (no fused multiply-add: Swift does not contract), so vector
/// lanes and scalar code agree bit for bit, on every machine and glibc.
enum NaturalLog {
    // fdlibm's minimax coefficients for log(1+s)-log(1-s) = 2s + s*R(s^2).
    private static let lg1 = 6.666666666666735130e-01
    private static let lg2 = 3.999999999940941908e-01
    private static let lg3 = 2.857142874366239149e-01
    private static let lg4 = 2.222219843214978396e-01
    private static let lg5 = 1.818357216161805012e-01
    private static let lg6 = 1.531383769920937332e-01
    private static let lg7 = 1.479819860511658591e-01
    private static let ln2Hi = 6.93147180369123816490e-01
    private static let ln2Lo = 1.90821492927058770002e-10

    /// log(x) for a positive normal finite x; anything else gives a meaningless number
    /// (see `isPositiveNormal`).
    @inline(__always)
    static func ofPositiveNormal(_ x: Double) -> Double {
        let bits = x.bitPattern
        let high = UInt32(truncatingIfNeeded: bits >> 32)
        let mantissaHigh = high & 0x000f_ffff
        // i = 0x100000 when the mantissa is >= sqrt(2): m is then halved (exponent + 1).
        let i = (mantissaHigh &+ 0x95f64) & 0x0010_0000
        let k = Int32(bitPattern: high >> 20) &- 1023 &+ Int32(bitPattern: i >> 20)
        let m = Double(bitPattern: UInt64(mantissaHigh | (i ^ 0x3ff0_0000)) << 32 | (bits & 0xffff_ffff))
        let f = m - 1
        let s = f / (2 + f)
        let dk = Double(k)
        let z = s * s
        let w = z * z
        let t1 = w * (lg2 + w * (lg4 + w * lg6))
        let t2 = z * (lg1 + w * (lg3 + w * (lg5 + w * lg7)))
        let r = t2 + t1
        let hfsq = 0.5 * f * f
        return dk * ln2Hi - ((hfsq - (s * (hfsq + r) + dk * ln2Lo)) - f)
    }

    /// True for the inputs `ofPositiveNormal` handles (false for 0, subnormals, infinity,
    /// NaN and negatives).
    @inline(__always)
    static func isPositiveNormal(_ x: Double) -> Bool {
        x >= Double.leastNormalMagnitude && x <= Double.greatestFiniteMagnitude
    }

    /// The range of `nearOne`.
    static let nearOneRadius = 1.0 / 64

    /// log(x) for |x - 1| <= `nearOneRadius`.
    @inline(__always)
    static func nearOne(_ x: Double) -> Double {
        let f = x - 1
        let p =
            -0.5 + f
            * (1.0 / 3 + f * (-0.25 + f * (0.2 + f * (-1.0 / 6 + f * (1.0 / 7 + f * (-0.125 + f * (1.0 / 9)))))))
        return f + (f * f) * p
    }

    /// log(x) for any x.
    @inline(__always)
    static func of(_ x: Double) -> Double {
        if abs(x - 1) <= nearOneRadius { return nearOne(x) }
        return isPositiveNormal(x) ? ofPositiveNormal(x) : Foundation.log(x)
    }

    /// out[j] = log(a[j] / a[j - 1]) (0 where a[j] == a[j - 1]) for j in 1..<n, for two
    /// columns at once: one vectorised pass near 1, then the few others one by one.
    static func logRatios(
        _ a: UnsafePointer<Double>, _ outA: UnsafeMutablePointer<Double>,
        _ b: UnsafePointer<Double>, _ outB: UnsafeMutablePointer<Double>, count n: Int
    ) {
        guard n > 1 else { return }
        // Sign bit set when some |ratio - 1| exceeds the radius (or is NaN): the bit
        // patterns of non-negative doubles order as the numbers do.
        let radius = nearOneRadius.bitPattern
        var far: UInt64 = 0
        for j in 1..<n {
            let ra = a[j] / a[j - 1], rb = b[j] / b[j - 1]
            outA[j] = nearOne(ra)
            outB[j] = nearOne(rb)
            far |= (radius &- abs(ra - 1).bitPattern) | (radius &- abs(rb - 1).bitPattern)
        }
        guard far >> 63 != 0 else { return }
        for j in 1..<n {
            let ra = a[j] / a[j - 1], rb = b[j] / b[j - 1]
            if !(abs(ra - 1) <= nearOneRadius) { outA[j] = a[j] == a[j - 1] ? 0 : of(ra) }
            if !(abs(rb - 1) <= nearOneRadius) { outB[j] = b[j] == b[j - 1] ? 0 : of(rb) }
        }
    }
}
