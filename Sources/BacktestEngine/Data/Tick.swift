/// One trade print. `time` is in microseconds since the Unix epoch (UTC).
public struct Tick: Sendable, Equatable, Hashable {
    public var time: Int64
    public var price: Double
    public var size: Double

    public init(time: Int64, price: Double, size: Double) {
        self.time = time
        self.price = price
        self.size = size
    }
}
