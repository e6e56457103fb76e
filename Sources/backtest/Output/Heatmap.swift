import BacktestProto

/// A statistic over two axes of a sweep as a grid of numbers, each shaded by how good
/// it is (a block character, and a colour on a terminal): the best value of its cell
/// over the other axes, with a legend.
struct Heatmap {
    static let shades = ["░", "▒", "▓", "█"]
    static let colors: [Style.Color] = [.red, .yellow, .cyan, .green]

    var rowAxis: String
    var columnAxis: String
    var statistic: String
    /// Whether higher values are better.
    var maximize: Bool

    /// Nil when a result lacks one of the axes (an axis the sweep does not have).
    func render(_ results: [SweepResult], style: Style) -> String? {
        var cells: [Double: [Double: Double]] = [:]
        var rows = Set<Double>()
        var columns = Set<Double>()
        for r in results {
            guard let x = r.params.first(where: { $0.name == rowAxis })?.value,
                let y = r.params.first(where: { $0.name == columnAxis })?.value
            else { return nil }
            rows.insert(x)
            columns.insert(y)
            guard let s = r.statistics else { continue }
            let v = SweepView.statistic(s, statistic)
            guard !v.isNaN else { continue }
            if let old = cells[x]?[y], maximize ? old >= v : old <= v { continue }
            cells[x, default: [:]][y] = v
        }
        let values = cells.values.flatMap(\.values)
        let lo = values.min() ?? .nan
        let hi = values.max() ?? .nan
        /// 0 (worst quarter of the range) to 3 (best quarter).
        func band(_ v: Double) -> Int {
            guard hi > lo else { return 3 }
            let goodness = maximize ? (v - lo) / (hi - lo) : (hi - v) / (hi - lo)
            return min(3, Int(goodness * 4))
        }
        let best = maximize ? hi : lo
        var table = Table(
            [Table.Column("\(rowAxis) \\ \(columnAxis)", .right)]
                + columns.sorted().map { Table.Column(Format.shortest($0), .right) })
        for x in rows.sorted() {
            var row = [Table.Cell(Format.shortest(x))]
            for y in columns.sorted() {
                guard let v = cells[x]?[y] else {
                    row.append(Table.Cell("·", .dim))
                    continue
                }
                let b = band(v)
                let mark = v == best ? "*" : " "
                row.append(Table.Cell(Format.number(v, decimals: 3) + mark + Self.shades[b], Self.colors[b]))
            }
            table.append(row)
        }
        var lines = [
            "\(statistic) (\(maximize ? "higher" : "lower") is better) by \(rowAxis) (rows) and \(columnAxis) (columns)"
                + (results.first.map { $0.params.count > 2 } == true ? ", the best over the other axes" : ""),
            table.render(style: style),
        ]
        if values.isEmpty {
            lines.append("legend: · no value")
        } else {
            let step = (hi - lo) / 4
            var legend: [String] = []
            for b in 0..<4 {
                let (a, z) =
                    maximize
                    ? (lo + Double(b) * step, lo + Double(b + 1) * step)
                    : (hi - Double(b) * step, hi - Double(b + 1) * step)
                legend.append(
                    style.paint(Self.shades[b], Self.colors[b])
                        + " \(Format.number(a, decimals: 3)) to \(Format.number(z, decimals: 3))")
            }
            lines.append("legend: " + legend.joined(separator: "  ") + "  * best  · no value")
        }
        return lines.joined(separator: "\n")
    }
}
