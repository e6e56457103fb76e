/// A protobuf message with a Swift value type, encoded and decoded by protobuf-c.
///
/// Decoding never trusts its input: malformed bytes, invalid UTF-8 and enum values
/// that the contract does not define all throw `ProtoError`; nothing is leaked.
public protocol ProtoMessage: Sendable, Equatable {
    /// The fully qualified proto name, for example `backtest.v1.StartBacktestRequest`.
    static var protoName: String { get }
    /// Decodes a message from its wire bytes.
    init(serializedBytes bytes: UnsafeRawBufferPointer) throws
    /// Encodes the message to its wire bytes (deterministic: map entries sorted by key).
    func serializedBytes() throws -> [UInt8]
}

extension ProtoMessage {
    /// Decodes a message from its wire bytes.
    public init(serializedBytes bytes: [UInt8]) throws {
        self = try bytes.withUnsafeBytes { try Self(serializedBytes: $0) }
    }

    /// Decodes a message from a slice of wire bytes without copying it.
    public init(serializedBytes bytes: ArraySlice<UInt8>) throws {
        self = try bytes.withUnsafeBytes { try Self(serializedBytes: $0) }
    }
}
