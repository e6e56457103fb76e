/// A text table with aligned columns: text left, numbers right. Colours are applied
/// to padded cells, so escape codes never shift a column.
struct Table {
    enum Alignment { case left, right }

    struct Column {
        var title: String
        var alignment: Alignment
        init(_ title: String, _ alignment: Alignment = .left) {
            self.title = title
            self.alignment = alignment
        }
    }

    struct Cell: ExpressibleByStringLiteral {
        var text: String
        var color: Style.Color?
        init(_ text: String, _ color: Style.Color? = nil) {
            self.text = text
            self.color = color
        }
        init(stringLiteral value: String) { self.init(value) }
    }

    var columns: [Column]
    var rows: [[Cell]] = []

    init(_ columns: [Column]) {
        self.columns = columns
    }

    mutating func append(_ row: [Cell]) {
        precondition(row.count == columns.count, "a row must have one cell per column")
        rows.append(row)
    }

    /// The table as lines: a header, a rule, the rows; two spaces between columns and
    /// no trailing spaces.
    func render(style: Style = Style(enabled: false)) -> String {
        var widths = columns.map { Self.width($0.title) }
        for row in rows {
            for (i, cell) in row.enumerated() { widths[i] = max(widths[i], Self.width(cell.text)) }
        }
        func line(_ cells: [Cell], header: Bool) -> String {
            var parts: [String] = []
            for (i, cell) in cells.enumerated() {
                let gap = String(repeating: " ", count: widths[i] - Self.width(cell.text))
                let last = i == cells.count - 1
                let padded: String
                switch columns[i].alignment {
                case .left: padded = style.paint(cell.text, header ? .bold : cell.color) + (last ? "" : gap)
                case .right: padded = gap + style.paint(cell.text, header ? .bold : cell.color)
                }
                parts.append(padded)
            }
            // An empty last cell would leave the separator behind.
            var text = parts.joined(separator: "  ")
            while text.hasSuffix(" ") { text.removeLast() }
            return text
        }
        var out = [line(columns.map { Cell($0.title) }, header: true)]
        out.append(widths.map { String(repeating: "─", count: $0) }.joined(separator: "  "))
        out += rows.map { line($0, header: false) }
        return out.joined(separator: "\n")
    }

    /// Columns on a terminal: one per Unicode scalar is right for the text we print
    /// (ASCII, box drawing, blocks).
    static func width(_ s: String) -> Int { s.unicodeScalars.count }
}
