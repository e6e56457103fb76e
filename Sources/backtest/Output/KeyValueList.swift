/// Name/value pairs in two columns: names left, values right-aligned (numbers: the
/// statistics block) or left-aligned (text: a session's record).
struct KeyValueList {
    var pairs: [(String, Table.Cell)] = []
    var valueAlignment: Table.Alignment = .right

    mutating func append(_ name: String, _ value: Table.Cell) { pairs.append((name, value)) }

    func render(style: Style = Style(enabled: false)) -> String {
        let nameWidth = pairs.map { Table.width($0.0) }.max() ?? 0
        let valueWidth = pairs.map { Table.width($0.1.text) }.max() ?? 0
        return pairs.map { name, value in
            let gap = String(repeating: " ", count: nameWidth - Table.width(name) + 2)
            switch valueAlignment {
            case .right:
                return name + gap + String(repeating: " ", count: valueWidth - Table.width(value.text))
                    + style.paint(value.text, value.color)
            case .left:
                return name + gap + style.paint(value.text, value.color)
            }
        }.joined(separator: "\n")
    }
}
