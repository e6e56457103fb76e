/// A slice of a sweep's combinations, computed by whichever node takes it: the
/// combinations `first ..< first + grid.count`, with their grid positions (so a node
/// needs only the request's axes to know their parameters, not the whole plan).
public struct SweepShard: Sendable, Equatable, Codable {
    public var index: Int
    public var first: Int64
    public var grid: [Int64]

    public init(index: Int, first: Int64, grid: [Int64]) {
        self.index = index
        self.first = first
        self.grid = grid
    }

    /// A shard a node has taken: what it needs to compute it, and the broker's ticket
    /// to hand it back.
    public struct Taken: Sendable {
        public var sweepId: String
        public var request: [UInt8]
        public var shard: SweepShard
        public var ticket: String

        public init(sweepId: String, request: [UInt8], shard: SweepShard, ticket: String) {
            self.sweepId = sweepId
            self.request = request
            self.shard = shard
            self.ticket = ticket
        }
    }

    /// Cuts `count` combinations (grid positions `grid`) into shards: small enough
    /// that every node gets several and a lost one costs little, large enough that
    /// each is worth a round trip.
    public static func cut(_ grid: [Int64], size: Int? = nil) -> [SweepShard] {
        let size = size ?? min(512, max(16, grid.count / 256))
        return stride(from: 0, to: grid.count, by: size).enumerated().map { index, start in
            SweepShard(index: index, first: Int64(start), grid: Array(grid[start..<min(start + size, grid.count)]))
        }
    }
}
