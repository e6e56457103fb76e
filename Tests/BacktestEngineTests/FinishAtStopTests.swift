import BacktestEngine
import Testing

/// A run stopped part way: the statistics of what ran are those of the same bars run to
/// their end with the last position left open; nothing is closed that the strategy
/// did not close.
@Suite struct FinishAtStopTests {
    @Test(arguments: [300, 1_000, 1_999])
    func statisticsOfWhatRanLeaveTheOpenPositionOpen(stopAt: Int) throws {
        let bars = Bars.randomWalk(2_000, seed: 11)
        let strategy = StrategyDefinition.builtin(name: "sma_cross", params: ["n1": 5, "n2": 20])
        let stopped = try Engine(config: BacktestConfig(initialCapital: 10_000, strategy: strategy))
        try stopped.process(candles: Array(bars.prefix(stopAt)))
        let atStop = stopped.finishAtStop()

        var leaveOpen = BacktestConfig(initialCapital: 10_000, strategy: strategy)
        leaveOpen.leaveOpenAtEnd = true
        let reference = try Engine(config: leaveOpen)
        try reference.process(candles: Array(bars.prefix(stopAt)))
        #expect(atStop == reference.finish())
        let trades = stopped.takeTrades()
        #expect(trades == reference.takeTrades())
        #expect(trades.last?.exitTime == nil, "sma_cross is always in the market: the last trade is open")
        #expect(atStop.totalTrades == trades.count - 1, "the open trade is not in the statistics")

        // The default end of data closes it instead: a different result.
        let closed = try Engine(config: BacktestConfig(initialCapital: 10_000, strategy: strategy))
        try closed.process(candles: Array(bars.prefix(stopAt)))
        #expect(closed.finish().totalTrades == atStop.totalTrades + 1)
    }
}
