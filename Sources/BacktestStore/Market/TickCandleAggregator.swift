import BacktestEngine

/// Builds candles from ticks in time order: buckets aligned to the epoch (as QuestDB's
/// `SAMPLE BY ... ALIGN TO CALENDAR` does for intervals up to a day), open = first
/// price, high/low = extremes, close = last price, volume = sum of sizes. Buckets
/// without ticks produce no candle.
public struct TickCandleAggregator: Sendable {
    public let interval: Int64
    private var current: Candle?

    public init(intervalMicros: Int64) {
        precondition(intervalMicros > 0)
        interval = intervalMicros
    }

    public func bucket(of time: Int64) -> Int64 {
        let r = time % interval
        return r >= 0 ? time - r : time - r - interval
    }

    /// Adds ticks; completed candles are appended to `out`.
    public mutating func add(_ ticks: [Tick], into out: inout [Candle]) {
        for tick in ticks {
            let b = bucket(of: tick.time)
            if var c = current, c.time == b {
                if tick.price > c.high { c.high = tick.price }
                if tick.price < c.low { c.low = tick.price }
                c.close = tick.price
                c.volume += tick.size
                current = c
            } else {
                if let c = current { out.append(c) }
                current = Candle(
                    time: b, open: tick.price, high: tick.price, low: tick.price, close: tick.price, volume: tick.size)
            }
        }
    }

    /// The last, still open candle (at the end of the data).
    public mutating func finish(into out: inout [Candle]) {
        if let c = current { out.append(c) }
        current = nil
    }
}

/// A candle cursor over a tick cursor.
final class TickCandleCursor {
    private let ticks: BatchCursor<Tick>
    private var aggregator: TickCandleAggregator
    private var pending: [Candle] = []
    private var finished = false
    private let batchSize: Int

    init(ticks: BatchCursor<Tick>, interval: Int64, batchSize: Int) {
        self.ticks = ticks
        aggregator = TickCandleAggregator(intervalMicros: interval)
        self.batchSize = batchSize
    }

    var cursor: BatchCursor<Candle> {
        BatchCursor { [self] in try await nextBatch() }
    }

    private func nextBatch() async throws -> [Candle]? {
        while pending.count < batchSize && !finished {
            if let batch = try await ticks.next() {
                aggregator.add(batch, into: &pending)
            } else {
                aggregator.finish(into: &pending)
                finished = true
            }
        }
        let batch = Array(pending.prefix(batchSize))
        pending.removeFirst(batch.count)
        return batch
    }
}
