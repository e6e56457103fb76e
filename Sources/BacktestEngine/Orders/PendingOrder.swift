/// An order as the broker keeps it: `Order` with its rule as an index into the broker's
/// rule names, so orders are plain values (no reference counting when they are queued,
/// filled or dropped).
struct PendingOrder {
    var kind: Order.Kind
    var side: Order.Side
    var quantity: Order.Quantity
    var closesPosition: Bool
    /// Index in `Broker.names`.
    var rule: Int32

    @inline(__always)
    init(
        kind: Order.Kind = .market, side: Order.Side, quantity: Order.Quantity = .configured,
        closesPosition: Bool = false, rule: Int32
    ) {
        self.kind = kind
        self.side = side
        self.quantity = quantity
        self.closesPosition = closesPosition
        self.rule = rule
    }
}
