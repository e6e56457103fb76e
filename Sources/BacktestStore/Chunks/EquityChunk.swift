import BacktestEngine

/// The compact blob of up to `capacity` equity points (format 2; format 1 is the plain
/// ColumnChunk layout of schema version 1, still readable). An equity curve is regular:
/// one point per bar at a fixed step, cash and position change only at trades, and the
/// drawdown follows from equity and its running peak. So each column is stored as what
/// a cheap prediction gets wrong, which is mostly nothing:
///
///     u8 format = 2, varint n
///     times:  i64 first, zigzag step (t1 - t0), varint m, then m exceptions
///             (varint index gap, zigzag (delta - step)); uniform times cost 10-20 bytes.
///     then equity, cash, position, drawdown, each: u8 mode, then
///       0 raw:      n little-endian IEEE 754 bit patterns
///       1 xor-prev: residual r[i] = bits[i] ^ bits[i-1] (bits[-1] = 0)
///       2 xor-dd:   f64 peak at the chunk's start, residual r[i] = bits[i] ^ predicted
///                   drawdown (DrawdownPredictor) from equity[i] and the running peak
///     residuals (modes 1, 2): varint m (nonzero ones), bitmap of n bits (set = nonzero),
///       m nibbles (code 1-8: the low k bytes follow; 9-15: the high k-8 bytes follow,
///       the rest are zero), then the bytes.
///
/// Every value round-trips bit for bit (NaN payloads, -0.0, infinities): the encoder
/// stores residuals against its prediction, never the prediction itself, and picks the
/// smallest of raw / xor-prev / xor-dd per column and chunk.
enum EquityChunk {
    static let format: UInt8 = 2
    /// Points per chunk: with regular curves about 8-9 bytes a point, ~35 KB a blob.
    static let capacity = 4096

    /// The encoded blob and the running equity peak after its last point (the hint for
    /// the next chunk of the same curve).
    static func encode(_ points: ArraySlice<EquitySample>, peakHint: Double?) -> (data: [UInt8], peak: Double) {
        let n = points.count
        var w = ByteWriter(capacity: 64 + n * 9)
        w.byte(format)
        w.varint(UInt64(n))
        var peakOut = peakHint ?? -.infinity
        points.withContiguousStorageIfAvailable { p in
            encodeTimes(p, into: &w)
            withUnsafeTemporaryAllocation(of: UInt64.self, capacity: max(1, n)) { buffer in
                let r = UnsafeMutableBufferPointer(rebasing: buffer[0..<n])
                // equity, cash, position: against the previous value.
                xorPrevious(p, r) { $0.equity }
                writeBest(r, p, column: 0, into: &w)
                xorPrevious(p, r) { $0.cash }
                writeBest(r, p, column: 1, into: &w)
                xorPrevious(p, r) { $0.positionSize }
                writeBest(r, p, column: 2, into: &w)
                // drawdown: against the prediction from the best starting peak (the hint
                // when it predicts everything, which is the usual case).
                var candidates = [peakHint ?? -.infinity]
                if peakHint != nil { candidates.append(-.infinity) }
                var bestPeak = candidates[0]
                var bestMisses = Int.max
                for candidate in candidates where bestMisses > 0 {
                    var predictor = DrawdownPredictor(peak: candidate)
                    var misses = 0
                    for i in 0..<n where predictor.next(equity: p[i].equity).bitPattern != p[i].drawdownPct.bitPattern {
                        misses += 1
                    }
                    if misses < bestMisses {
                        bestMisses = misses
                        bestPeak = candidate
                    }
                }
                var predictor = DrawdownPredictor(peak: bestPeak)
                for i in 0..<n {
                    r[i] = p[i].drawdownPct.bitPattern ^ predictor.next(equity: p[i].equity).bitPattern
                }
                peakOut = predictor.peak
                writeBest(r, p, column: 3, peak: bestPeak, into: &w)
            }
        }!
        return (w.finished(), peakOut)
    }

    @inline(__always)
    private static func xorPrevious(
        _ p: UnsafeBufferPointer<EquitySample>, _ r: UnsafeMutableBufferPointer<UInt64>,
        _ value: (EquitySample) -> Double
    ) {
        var previous: UInt64 = 0
        for i in 0..<p.count {
            let bits = value(p[i]).bitPattern
            r[i] = bits ^ previous
            previous = bits
        }
    }

    /// Writes the column as residuals (mode 1, or 2 with `peak`) unless raw is smaller.
    private static func writeBest(
        _ r: UnsafeMutableBufferPointer<UInt64>, _ p: UnsafeBufferPointer<EquitySample>, column: Int,
        peak: Double? = nil, into w: inout ByteWriter
    ) {
        let n = r.count
        var m = 0
        var payload = 0
        for x in r where x != 0 {
            m += 1
            payload += code(x).bytes
        }
        let size = (peak == nil ? 0 : 8) + 10 + (n + 7) / 8 + (m + 1) / 2 + payload
        guard size < 8 * n else {
            writeRaw(p, column: column, into: &w)
            return
        }
        if let peak {
            w.byte(2)
            w.u64(peak.bitPattern)
        } else {
            w.byte(1)
        }
        w.varint(UInt64(m))
        let bitmapBytes = (n + 7) / 8, nibbleBytes = (m + 1) / 2
        w.withTail(capacity: bitmapBytes + nibbleBytes + payload) { base in
            // Three cursors: bitmap, nibbles, payload (the payload's word stores may run
            // up to 7 bytes past its end, into the writer's slack).
            let bitmap = base.bindMemory(to: UInt8.self, capacity: bitmapBytes)
            bitmap.initialize(repeating: 0, count: bitmapBytes + nibbleBytes)
            let nibbles = bitmap + bitmapBytes
            var out = base + bitmapBytes + nibbleBytes
            var j = 0
            for i in 0..<n {
                let x = r[i]
                guard x != 0 else { continue }
                bitmap[i >> 3] |= 1 << UInt8(i & 7)
                let (c, k) = code(x)
                nibbles[j >> 1] |= UInt8(c) << UInt8((j & 1) * 4)
                j += 1
                out.storeBytes(of: (c > 8 ? x >> UInt64(64 - 8 * k) : x).littleEndian, as: UInt64.self)
                out += k
            }
            return bitmapBytes + nibbleBytes + payload
        }
    }

    private static func encodeTimes(_ p: UnsafeBufferPointer<EquitySample>, into w: inout ByteWriter) {
        let n = p.count
        guard n > 0 else { return }
        w.u64(UInt64(bitPattern: p[0].time))
        let step = n > 1 ? p[1].time &- p[0].time : 0
        w.zigzag(step)
        var misses = 0
        for i in 1..<max(1, n) where p[i].time &- p[i - 1].time != step { misses += 1 }
        w.varint(UInt64(misses))
        var last = 0
        for i in 1..<max(1, n) {
            let delta = p[i].time &- p[i - 1].time
            if delta != step {
                w.varint(UInt64(i - last))
                w.zigzag(delta &- step)
                last = i
            }
        }
    }

    private static func writeRaw(_ p: UnsafeBufferPointer<EquitySample>, column: Int, into w: inout ByteWriter) {
        w.byte(0)
        w.withTail(capacity: 8 * p.count) { base in
            for (i, s) in p.enumerated() {
                let value = column == 0 ? s.equity : column == 1 ? s.cash : column == 2 ? s.positionSize : s.drawdownPct
                base.storeBytes(of: value.bitPattern.littleEndian, toByteOffset: 8 * i, as: UInt64.self)
            }
            return 8 * p.count
        }
    }

    /// Bytes of a nonzero residual stored low-aligned (code 1-8) or high-aligned (9-15).
    @inline(__always)
    private static func code(_ r: UInt64) -> (code: Int, bytes: Int) {
        let low = 8 - r.leadingZeroBitCount / 8
        let high = 8 - r.trailingZeroBitCount / 8
        return high < low ? (8 + high, high) : (low, low)
    }

    // MARK: Decoding

    /// Appends the blob's points (those whose time passes `keep`) to `out`; reads both
    /// formats (1 = ColumnChunk, 2 = this one).
    static func decode(
        _ blob: UnsafeRawBufferPointer, count n: Int, into out: inout [EquitySample],
        keep: TimeRange? = nil
    ) throws(StoreError) {
        if blob.first == ColumnChunk.format {
            try ColumnChunk.decode(blob, count: n, into: &out, keep: keep)
            return
        }
        var reader = ByteReader(blob)
        guard try reader.byte() == format, n >= 0, try reader.varint() == UInt64(n) else {
            throw StoreError.failed("corrupt equity chunk: \(blob.count) bytes, expected \(n) points")
        }
        guard n > 0 else { return }
        try withUnsafeTemporaryAllocation(of: Int64.self, capacity: n) { times throws(StoreError) in
            try withUnsafeTemporaryAllocation(of: UInt64.self, capacity: 4 * n) { columns throws(StoreError) in
                try decodeTimes(&reader, into: times)
                for column in 0..<4 {
                    let values = UnsafeMutableBufferPointer(rebasing: columns[column * n..<(column + 1) * n])
                    switch try reader.byte() {
                    case 0:
                        for i in 0..<n { values[i] = try reader.u64() }
                    case 1:
                        try readResiduals(&reader, into: values)
                        var previous: UInt64 = 0
                        for i in 0..<n {
                            previous ^= values[i]
                            values[i] = previous
                        }
                    case 2 where column == 3:
                        var predictor = DrawdownPredictor(peak: Double(bitPattern: try reader.u64()))
                        try readResiduals(&reader, into: values)
                        for i in 0..<n {
                            values[i] ^= predictor.next(equity: Double(bitPattern: columns[i])).bitPattern
                        }
                    case let mode:
                        throw StoreError.failed("corrupt equity chunk: column \(column) has mode \(mode)")
                    }
                }
                guard reader.remaining == 0 else { throw ByteReader.corrupt("\(reader.remaining) bytes left over") }
                out.reserveCapacity(out.count + n)
                for i in 0..<n {
                    if let keep, !keep.contains(times[i]) { continue }
                    out.append(
                        EquitySample(
                            time: times[i], equity: Double(bitPattern: columns[i]),
                            cash: Double(bitPattern: columns[n + i]),
                            positionSize: Double(bitPattern: columns[2 * n + i]),
                            drawdownPct: Double(bitPattern: columns[3 * n + i])))
                }
            }
        }
    }

    private static func decodeTimes(_ reader: inout ByteReader, into times: UnsafeMutableBufferPointer<Int64>)
        throws(StoreError)
    {
        let n = times.count
        let first = Int64(bitPattern: try reader.u64())
        let step = try reader.zigzag()
        var misses = try reader.count(max: n - 1)
        var nextMiss = Int.max
        var missDelta: Int64 = 0
        var last = 0
        func advance() throws(StoreError) {
            guard misses > 0 else {
                nextMiss = .max
                return
            }
            misses -= 1
            let gap = try reader.count(max: n)
            guard gap > 0, last + gap < n else { throw ByteReader.corrupt("time exception index") }
            last += gap
            nextMiss = last
            missDelta = try reader.zigzag()
        }
        try advance()
        var t = first
        times[0] = t
        for i in 1..<n {
            if i == nextMiss {
                t = t &+ step &+ missDelta
                try advance()
            } else {
                t = t &+ step
            }
            times[i] = t
        }
    }

    private static func readResiduals(_ reader: inout ByteReader, into r: UnsafeMutableBufferPointer<UInt64>)
        throws(StoreError)
    {
        let n = r.count
        let m = try reader.count(max: n)
        let bitmap = try reader.bytes((n + 7) / 8)
        let nibbles = try reader.bytes((m + 1) / 2)
        var j = 0
        for i in 0..<n {
            guard bitmap[i >> 3] & (1 << UInt8(i & 7)) != 0 else {
                r[i] = 0
                continue
            }
            guard j < m else { throw ByteReader.corrupt("residual bitmap") }
            let c = Int(j & 1 == 0 ? nibbles[j >> 1] & 0x0f : nibbles[j >> 1] >> 4)
            j += 1
            switch c {
            case 1...8:
                r[i] = try reader.low(bytes: c)
            case 9...15:
                r[i] = try reader.low(bytes: c - 8) << UInt64(64 - 8 * (c - 8))
            default:
                throw ByteReader.corrupt("residual code 0")
            }
        }
        guard j == m else { throw ByteReader.corrupt("residual count") }
    }
}

/// The drawdown an engine reports for each point: the running peak of equity, then
/// `1 - equity / peak` as a negative percentage (0 at a peak). Encoder and decoder run
/// this same code, so a prediction is reproduced exactly on read; where the stored
/// value differs (another engine, a gap in the curve) the residual keeps it exact.
struct DrawdownPredictor {
    var peak: Double

    @inline(__always)
    mutating func next(equity: Double) -> Double {
        if equity > peak { peak = equity }
        let dd = 1 - equity / peak
        return dd == 0 ? 0 : -dd * 100
    }
}
