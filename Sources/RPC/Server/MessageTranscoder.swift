/// Converts one method's messages between the protobuf binary form its handler speaks
/// and another codec's (JSON), at the edge: a transport that offers the codec turns
/// requests into binary before the handler sees them and responses back after.
public struct MessageTranscoder: Sendable {
    /// A request in the codec to binary; a request the codec cannot read is an error
    /// naming the field (INVALID_ARGUMENT).
    public var request: @Sendable ([UInt8]) throws(RPCError) -> [UInt8]
    /// A response in binary to the codec.
    public var response: @Sendable ([UInt8]) throws(RPCError) -> [UInt8]

    public init(
        request: @escaping @Sendable ([UInt8]) throws(RPCError) -> [UInt8],
        response: @escaping @Sendable ([UInt8]) throws(RPCError) -> [UInt8]
    ) {
        self.request = request
        self.response = response
    }
}
