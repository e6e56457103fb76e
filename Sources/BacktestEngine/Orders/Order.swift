/// An order waiting in the order manager. Orders are good until filled or cancelled.
public struct Order: Sendable, Equatable {
    public enum Kind: Sendable, Equatable {
        /// Fills at the next bar's open (the signal bar's close with fill-on-close; with
        /// ticks, the next tick).
        case market
        /// Buy at or below / sell at or above the price; a bar opening beyond it fills at the open.
        case limit(Double)
        /// Buy at or above / sell at or below the price; a gap through it fills at the open.
        case stop(Double)
    }

    public enum Side: Sendable, Equatable { case buy, sell }

    public enum Quantity: Sendable, Equatable {
        /// As the configuration's sizing says.
        case configured
        case units(Double)
    }

    public var kind: Kind
    public var side: Side
    public var quantity: Quantity
    /// Closes the open trade instead of opening one.
    public var closesPosition: Bool
    /// The rule that made the order (recorded on the trade it opens or closes).
    public var rule: String

    public init(
        kind: Kind = .market, side: Side, quantity: Quantity = .configured, closesPosition: Bool = false, rule: String
    ) {
        self.kind = kind
        self.side = side
        self.quantity = quantity
        self.closesPosition = closesPosition
        self.rule = rule
    }
}

/// The trade currently open (at most one: orders net against it).
struct OpenTrade {
    var number: Int
    /// Signed units: negative for a short.
    var size: Double
    var entryPrice: Double
    var entryIndex: Int
    var entryTime: Int64
    var entryCommission: Double
    /// Index in the broker's rule names (a plain value: copying a trade costs no reference counting).
    var entryRule: Int32
    /// NaN when not set.
    var stopLoss: Double
    var takeProfit: Double
    /// Best price since entry (highest for a long, lowest for a short), for the trailing stop.
    var extreme: Double
    /// Bars before this index do not check stop-loss/take-profit (a trade filled by a
    /// limit or stop order inside a bar waits for the next one: the order of prices
    /// inside the bar is unknown).
    var contingentFrom: Int
}
