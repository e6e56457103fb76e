/// A proto enum as a Swift enum: its cases are the values the contract defines, so a
/// number outside them is a decoding error, never a silent unknown.
public protocol ProtoEnum: RawRepresentable, CaseIterable, Sendable, Hashable where RawValue == Int32 {
    /// The fully qualified enum name, for example `backtest.v1.SessionStatus`.
    static var protoName: String { get }
    /// The prefix every value name shares by the style guide (`SESSION_STATUS_`), or
    /// "" when the values have none; the Swift case names leave it out.
    static var protoValuePrefix: String { get }
    /// The value's name in the proto, for example `SESSION_STATUS_COMPLETED`: what
    /// proto3 JSON writes.
    var protoValueName: String { get }
}

extension ProtoEnum {
    /// The value whose proto name is `name` (exactly, as JSON spells it).
    public init?(protoValueName name: String) {
        guard let value = Self.allCases.first(where: { $0.protoValueName == name }) else { return nil }
        self = value
    }

    /// The value name without the shared prefix: `COMPLETED` for
    /// `SESSION_STATUS_COMPLETED`.
    public var protoShortName: Substring {
        let name = protoValueName
        return name.hasPrefix(Self.protoValuePrefix) ? name.dropFirst(Self.protoValuePrefix.count) : Substring(name)
    }
}
