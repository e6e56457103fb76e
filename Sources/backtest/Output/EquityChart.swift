import BacktestProto

/// The equity curve as a block chart with its scale: the highest and lowest equity
/// on the left, the first and last time underneath.
enum EquityChart {
    static func render(_ points: [EquityPoint], width: Int, height: Int = 8, style: Style) -> [String] {
        let values = points.map(\.equity)
        guard let lo = values.filter(\.isFinite).min(), let hi = values.filter(\.isFinite).max() else { return [] }
        let top = Format.number(hi), bottom = Format.number(lo)
        let labelWidth = max(Table.width(top), Table.width(bottom))
        let plotWidth = max(width - labelWidth - 2, 10)
        let rows = Sparkline.chart(values, width: plotWidth, height: height)
        let last = values.last(where: \.isFinite) ?? 0, first = values.first(where: \.isFinite) ?? 0
        var out: [String] = []
        for (i, row) in rows.enumerated() {
            let label = i == 0 ? top : i == rows.count - 1 ? bottom : ""
            let axis = label.isEmpty ? "│" : "┤"
            out.append(
                String(repeating: " ", count: labelWidth - Table.width(label)) + label + " " + axis
                    + style.paint(row, last >= first ? .green : .red))
        }
        if let from = points.first?.time, let to = points.last?.time {
            let left = TimeDisplay.compact(from), right = TimeDisplay.compact(to)
            let plotted = rows.first.map(Table.width) ?? plotWidth
            let gap = max(plotted - Table.width(left) - Table.width(right), 1)
            out.append(
                String(repeating: " ", count: labelWidth + 2) + left + String(repeating: " ", count: gap) + right)
        }
        return out
    }
}
