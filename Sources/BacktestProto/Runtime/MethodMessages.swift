/// A method's request and response message types: with them, code that treats every
/// method alike (a fuzzer decoding any request, a generic client, request logging)
/// reads the generated table instead of a switch that a new method would slip past.
public struct MethodMessages: Sendable {
    public let request: any (ProtoMessage & ProtoJSONMessage).Type
    public let response: any (ProtoMessage & ProtoJSONMessage).Type

    public init(
        request: any (ProtoMessage & ProtoJSONMessage).Type, response: any (ProtoMessage & ProtoJSONMessage).Type
    ) {
        self.request = request
        self.response = response
    }
}
