import BacktestProto

// The names the CLI prints in tables and accepts in options, derived from the
// generated value names: without the enum's prefix, in lower case
// (SESSION_STATUS_COMPLETED -> "completed", NOT_SERVING -> "not_serving").
extension ProtoEnum {
    var name: String { protoShortName.lowercased() }

    /// A short name or the full proto name, case-insensitively; never the zero
    /// (UNSPECIFIED) value, which no option means.
    static func parse(_ text: String) -> Self? {
        let upper = text.uppercased()
        return allCases.first { $0.rawValue != 0 && ($0.protoValueName == upper || $0.protoShortName == upper) }
    }

    /// The names an option accepts, for its error message: `started, running or completed`.
    static var choices: String {
        let names = allCases.filter { $0.rawValue != 0 }.map(\.name)
        return names.count < 2 ? names.joined() : names.dropLast().joined(separator: ", ") + " or " + names.last!
    }
}
