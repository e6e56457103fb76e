import BacktestEngine
import BacktestStore
import Testing

@testable import BacktestCore

/// How a sweep's combinations are cut into shards, and a shard's plan: the shards cover
/// every combination once, in order, and a shard's parameters are the whole plan's.
@Suite struct SweepShardTests {
    @Test func shardsCoverEveryCombinationOnceInOrder() {
        for count in [1, 15, 16, 17, 1_030, 4_096, 65_536, 200_001] {
            let grid = (0..<Int64(count)).map { $0 * 3 + 1 }
            let shards = SweepShard.cut(grid)
            #expect(shards.map(\.index) == Array(shards.indices))
            #expect(shards.flatMap(\.grid) == grid)
            #expect(
                shards.map(\.first) == shards.indices.map { i in shards[..<i].reduce(0) { $0 + Int64($1.grid.count) } })
            let size = shards[0].grid.count
            #expect(size == min(512, max(16, count / 256)) || shards.count == 1)
            #expect(shards.dropLast().allSatisfy { $0.grid.count == size })
        }
        #expect(SweepShard.cut([]).isEmpty)
    }

    @Test func aShardsPlanGivesTheWholePlansParameters() throws {
        let request = SweepRequest(
            base: CoreFixture.goog(),
            axes: [
                SweepAxis(name: "n1", values: .range(start: 5, stop: 30, step: 1)),
                SweepAxis(name: "n2", values: .range(start: 20, stop: 100, step: 2)),
            ], constraints: ["n1 < n2"])
        let whole = try SweepPlan(request, limits: .init())
        for shard in SweepShard.cut(whole.grid) {
            let part = try SweepPlan(request, limits: .init(), grid: shard.grid)
            for i in shard.grid.indices {
                #expect(part.params(i) == whole.params(Int(shard.first) + i))
            }
        }
    }
}
