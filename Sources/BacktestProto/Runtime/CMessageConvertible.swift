internal import BacktestProtoC

/// A Swift message type and the protobuf-c struct it converts to and from.
/// Generated conformances only; the C type never leaves this module.
protocol CMessageConvertible {
    associatedtype CMessage
    /// Initialises a C struct with the message's defaults (protobuf-c's `__init`).
    static func cInit(_ c: UnsafeMutablePointer<CMessage>)
    /// Reads a C struct that protobuf-c unpacked.
    init(c: UnsafePointer<CMessage>) throws
    /// Writes this value into an initialised C struct; everything it points to lives
    /// in `arena`.
    func fill(_ c: UnsafeMutablePointer<CMessage>, _ arena: ProtoArena) throws
}

/// A top-level message: protobuf-c generates pack/unpack functions only for these.
protocol CTopLevelMessage: CMessageConvertible {
    static func cUnpack(_ count: Int, _ bytes: UnsafePointer<UInt8>?) -> UnsafeMutablePointer<CMessage>?
    static func cFreeUnpacked(_ c: UnsafeMutablePointer<CMessage>)
    static func cPackedSize(_ c: UnsafePointer<CMessage>) -> Int
    static func cPack(_ c: UnsafePointer<CMessage>, _ out: UnsafeMutablePointer<UInt8>?) -> Int
}
