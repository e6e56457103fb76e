/// Name/value pairs, names left and values right-aligned in a second column: the
/// statistics block.
struct KeyValueList {
    var pairs: [(String, Table.Cell)] = []

    mutating func append(_ name: String, _ value: Table.Cell) { pairs.append((name, value)) }

    func render(style: Style = Style(enabled: false)) -> String {
        let nameWidth = pairs.map { Table.width($0.0) }.max() ?? 0
        let valueWidth = pairs.map { Table.width($0.1.text) }.max() ?? 0
        return pairs.map { name, value in
            name + String(repeating: " ", count: nameWidth - Table.width(name) + 2)
                + String(repeating: " ", count: valueWidth - Table.width(value.text)) + style.paint(value.text, value.color)
        }.joined(separator: "\n")
    }
}
