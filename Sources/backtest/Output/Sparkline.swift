/// Series drawn with block characters: a one-line sparkline, and a chart several
/// rows high with eighth-block resolution, for the equity curve in a terminal.
enum Sparkline {
    static let levels: [Character] = ["▁", "▂", "▃", "▄", "▅", "▆", "▇", "█"]
    /// Eighths of a cell, from empty to full.
    static let eighths: [Character] = [" ", "▁", "▂", "▃", "▄", "▅", "▆", "▇", "█"]

    /// Down to `width` values: each column is the last value of its bucket (an
    /// equity curve's value at the end of that stretch of time). NaN is skipped;
    /// fewer values than columns are kept as they are.
    static func resample(_ values: [Double], to width: Int) -> [Double] {
        let finite = values.filter(\.isFinite)
        guard width > 0, finite.count > width else { return finite }
        return (0..<width).map { i in
            let end = (i + 1) * finite.count / width
            return finite[max(end - 1, 0)]
        }
    }

    /// One row: `▁▂▄█▆▃`; a flat series is drawn at the middle level.
    static func line(_ values: [Double], width: Int) -> String {
        let v = resample(values, to: width)
        guard let lo = v.min(), let hi = v.max() else { return "" }
        return String(
            v.map { x in
                guard hi > lo else { return levels[levels.count / 2 - 1] }
                let i = Int(((x - lo) / (hi - lo) * Double(levels.count - 1)).rounded())
                return levels[min(max(i, 0), levels.count - 1)]
            })
    }

    /// `height` rows, top first, each `width` characters (fewer when there are fewer
    /// values). The lowest value fills one eighth of the bottom row so that every
    /// column shows; the highest fills the column.
    static func chart(_ values: [Double], width: Int, height: Int) -> [String] {
        let v = resample(values, to: width)
        guard height > 0, let lo = v.min(), let hi = v.max() else { return [] }
        let total = height * 8
        let filled: [Int] = v.map { x in
            guard hi > lo else { return total / 2 }
            return 1 + Int(((x - lo) / (hi - lo) * Double(total - 1)).rounded())
        }
        return (0..<height).map { row in
            let base = (height - 1 - row) * 8
            return String(filled.map { eighths[min(max($0 - base, 0), 8)] })
        }
    }
}
