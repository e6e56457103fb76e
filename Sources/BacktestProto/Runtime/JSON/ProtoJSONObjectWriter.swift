/// Builds a message's JSON object field by field, deciding per field whether it is
/// written at all: fields with presence when set, the others unless at their default
/// (or always, with `alwaysPrintFieldsWithNoPresence`).
struct ProtoJSONObjectWriter {
    let options: ProtoJSONEncodingOptions
    private var members: [JSONValue.Member] = []

    init(_ options: ProtoJSONEncodingOptions) {
        self.options = options
    }

    var value: JSONValue { .object(members) }

    /// A field without presence: a proto3 scalar, a repeated field or a map.
    mutating func field(_ name: String, _ jsonName: String, isDefault: Bool, _ value: () throws -> JSONValue) throws {
        guard !isDefault || options.alwaysPrintFieldsWithNoPresence else { return }
        members.append(
            JSONValue.Member(options.preservingProtoFieldNames ? name : jsonName, try ProtoJSONError.at(name, value)))
    }

    /// A field with presence (a message, a oneof member) that is set.
    mutating func present(_ name: String, _ jsonName: String, _ value: () throws -> JSONValue) throws {
        members.append(
            JSONValue.Member(options.preservingProtoFieldNames ? name : jsonName, try ProtoJSONError.at(name, value)))
    }
}
