import BacktestEngine

/// Up to `capacity` trades of one session packed in one blob, in trade-number order.
/// One SQLite row per trade cost ~2 µs each (0.5 M/s); a packed chunk is one row:
///
///     u8 format = 1, varint n, then per trade:
///       zigzag number (delta from the previous trade's number; the first: absolute)
///       u8 flags: bit 0 short, bit 1 exit time present, bit 2 exit index present
///       6 x f64 bit patterns: quantity, entry price, exit price, pnl, return %, commission
///       zigzag entry time, [zigzag exit time - entry time]
///       zigzag entry index, [zigzag exit index - entry index]
///       entry rule, exit rule: varint byte length + UTF-8 bytes (any bytes, NUL included)
///
/// Doubles keep their bits (NaN, -0.0), unlike SQLite REAL columns (NaN -> NULL).
enum TradeChunk {
    static let format: UInt8 = 1
    static let capacity = 1024

    /// Trades sorted by number; for a number given more than once, the last one given
    /// (INSERT OR REPLACE within one append).
    static func normalized(_ trades: [TradeRecord]) -> [TradeRecord] {
        var sorted = true
        for i in trades.indices.dropFirst() where trades[i - 1].number >= trades[i].number {
            sorted = false
            break
        }
        if sorted { return trades }
        let ordered = trades.enumerated().sorted { ($0.element.number, $0.offset) < ($1.element.number, $1.offset) }
        var out: [TradeRecord] = []
        out.reserveCapacity(ordered.count)
        for (_, trade) in ordered {
            if let last = out.last, last.number == trade.number {
                out[out.count - 1] = trade
            } else {
                out.append(trade)
            }
        }
        return out
    }

    static func encode(_ trades: ArraySlice<TradeRecord>) -> [UInt8] {
        var w = ByteWriter(capacity: 16 + trades.count * 80)
        w.byte(format)
        w.varint(UInt64(trades.count))
        var previous: Int64 = 0
        for t in trades {
            // At most 1 + 10 + 6 * 8 + 4 * 10 bytes of fields, plus the two strings.
            w.withTail(capacity: 128 + t.entryRule.utf8.count + t.exitRule.utf8.count) { base in
                var c = RawCursor(base)
                let number = Int64(t.number)
                c.zigzag(number &- previous)
                previous = number
                var flags: UInt8 = t.side == .short ? 1 : 0
                if t.exitTime != nil { flags |= 2 }
                if t.exitIndex != nil { flags |= 4 }
                c.byte(flags)
                c.u64(t.quantity.bitPattern)
                c.u64(t.entryPrice.bitPattern)
                c.u64(t.exitPrice.bitPattern)
                c.u64(t.pnl.bitPattern)
                c.u64(t.returnPct.bitPattern)
                c.u64(t.commission.bitPattern)
                c.zigzag(t.entryTime)
                if let exit = t.exitTime { c.zigzag(exit &- t.entryTime) }
                c.zigzag(Int64(t.entryIndex))
                if let exit = t.exitIndex { c.zigzag(Int64(exit) &- Int64(t.entryIndex)) }
                c.string(t.entryRule)
                c.string(t.exitRule)
                return c.written
            }
        }
        return w.finished()
    }

    /// Appends the blob's trades with numbers above `after` to `out`.
    static func decode(_ blob: UnsafeRawBufferPointer, count n: Int, into out: inout [TradeRecord], after: Int64 = .min)
        throws(StoreError)
    {
        var r = ByteReader(blob)
        guard try r.byte() == format, try r.varint() == UInt64(n) else {
            throw StoreError.failed("corrupt trade chunk: \(blob.count) bytes, expected \(n) trades")
        }
        out.reserveCapacity(out.count + n)
        var number: Int64 = 0
        for _ in 0..<n {
            number = number &+ (try r.zigzag())
            let flags = try r.byte()
            let quantity = Double(bitPattern: try r.u64())
            let entryPrice = Double(bitPattern: try r.u64())
            let exitPrice = Double(bitPattern: try r.u64())
            let pnl = Double(bitPattern: try r.u64())
            let returnPct = Double(bitPattern: try r.u64())
            let commission = Double(bitPattern: try r.u64())
            let entryTime = try r.zigzag()
            let exitTime = flags & 2 != 0 ? entryTime &+ (try r.zigzag()) : nil
            let entryIndex = try r.zigzag()
            let exitIndex = flags & 4 != 0 ? entryIndex &+ (try r.zigzag()) : nil
            let entryRule = try r.string()
            let exitRule = try r.string()
            guard number > after else { continue }
            out.append(
                TradeRecord(
                    number: Int(number), side: flags & 1 != 0 ? .short : .long, quantity: quantity,
                    entryTime: entryTime, exitTime: exitTime, entryPrice: entryPrice, exitPrice: exitPrice,
                    pnl: pnl, returnPct: returnPct, commission: commission, entryRule: entryRule,
                    exitRule: exitRule, entryIndex: Int(entryIndex), exitIndex: exitIndex.map { Int($0) }))
        }
        guard r.remaining == 0 else { throw ByteReader.corrupt("\(r.remaining) bytes left over in a trade chunk") }
    }
}
