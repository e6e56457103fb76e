/// Walks the members of a message's JSON object for generated code, which maps each
/// key (JSON name or proto name) to a field and hands the member back here to be
/// checked: a field given twice, a second member of a oneof and an unknown key are
/// errors naming the field; null leaves a field at its default.
struct ProtoJSONObjectReader {
    let options: ProtoJSONDecodingOptions
    private let messageName: String
    private let members: [JSONValue.Member]
    private var next = 0
    /// Field number -> the key it was read under, for "set twice" errors.
    private var seen: [Int32: String] = [:]
    /// Oneof name -> the proto name of the member that set it.
    private var oneofs: [String: String] = [:]

    init(_ json: JSONValue, _ messageName: String, _ options: ProtoJSONDecodingOptions) throws {
        guard case .object(let members) = json else {
            throw ProtoJSON.mismatch("an object (\(messageName))", json)
        }
        self.members = members
        self.messageName = messageName
        self.options = options
    }

    mutating func nextMember() -> JSONValue.Member? {
        guard next < members.count else { return nil }
        defer { next += 1 }
        return members[next]
    }

    /// The value of field `number` decoded by `decode`, or nil when the member is null.
    mutating func field<T>(
        _ number: Int32, _ name: String, _ member: JSONValue.Member, _ decode: (JSONValue) throws -> T
    ) throws -> T? {
        try claim(number, name, member.key)
        guard !member.value.isNull else { return nil }
        return try ProtoJSONError.at(name) { try decode(member.value) }
    }

    /// The same for a member of a oneof, which must be the only member of it given.
    mutating func oneofField<T>(
        _ number: Int32, _ name: String, oneof: String, _ member: JSONValue.Member,
        _ decode: (JSONValue) throws -> T
    ) throws -> T? {
        try claim(number, name, member.key)
        guard !member.value.isNull else { return nil }
        if let other = oneofs[oneof] {
            throw ProtoJSONError(
                "\(name) and \(other) are both set; they are members of the oneof \(oneof)", path: [name])
        }
        oneofs[oneof] = name
        return try ProtoJSONError.at(name) { try decode(member.value) }
    }

    /// A key that names no field: an error unless the options ignore those.
    func unknown(_ member: JSONValue.Member) throws {
        guard !options.ignoreUnknownFields else { return }
        throw ProtoJSONError("unknown field of \(messageName)", path: [member.key])
    }

    private mutating func claim(_ number: Int32, _ name: String, _ key: String) throws {
        if let earlier = seen[number] {
            let how = earlier == key ? "twice" : "twice, as \(ProtoJSON.quoted(earlier)) and \(ProtoJSON.quoted(key))"
            throw ProtoJSONError("set \(how)", path: [name])
        }
        seen[number] = key
    }
}
