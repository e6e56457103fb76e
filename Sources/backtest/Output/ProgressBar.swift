import BacktestProto

/// The one-line live view of a running session, redrawn in place on a terminal:
///
///     ▕██████████▌         ▏  52.4%  2008-11-03 00:00  equity 12,345.67  P&L +2,345.67  trades 14  3.2k ev/s  ETA 2s
///
/// Fields that do not fit the terminal's width are dropped, least useful first.
enum ProgressBar {
    static let partial: [Character] = ["▏", "▎", "▍", "▌", "▋", "▊", "▉"]

    /// The bar alone: `cells` wide, eighth-cell resolution, between end caps.
    static func bar(fraction: Double, cells: Int) -> String {
        let f = fraction.isFinite ? min(max(fraction, 0), 1) : 0
        let eighths = Int((f * Double(cells * 8)).rounded(.down))
        let full = eighths / 8, rest = eighths % 8
        var s = String(repeating: "█", count: full)
        if full < cells {
            s += rest > 0 ? String(partial[rest - 1]) : " "
            s += String(repeating: " ", count: cells - full - 1)
        }
        return "▕" + s + "▏"
    }

    /// The line for one progress event, at most `width` columns.
    static func line(_ e: ProgressEvent, width: Int, style: Style) -> String {
        let pnl = e.realizedPnl + e.unrealizedPnl
        // Most important first; dropped from the end when the line would not fit.
        var fields: [(plain: String, painted: String)] = []
        func add(_ text: String, _ color: Style.Color? = nil) { fields.append((text, style.paint(text, color))) }
        add(pad(Format.percent(e.progressPct, decimals: 1), 6))
        if e.status == .started {
            add("queued", .yellow)
        } else if let t = e.simTime {
            add(TimeDisplay.minute(t))
        }
        add("equity " + Format.number(e.equity))
        let pnlText = Format.signed(pnl)
        fields.append(("P&L " + pnlText, "P&L " + style.signed(pnlText, pnl)))
        add("trades \(e.trades)")
        if e.drawdownPct < 0 { add("dd " + Format.percent(e.drawdownPct, decimals: 1)) }
        if e.eventsPerSecond > 0 { add(Format.compact(e.eventsPerSecond) + " ev/s") }
        if let eta = e.eta, e.status != .started { add("ETA " + Format.duration(eta)) }

        let minBar = 10, maxBar = 30
        var kept = fields.count
        func textWidth(_ n: Int) -> Int { fields.prefix(n).reduce(0) { $0 + Table.width($1.plain) + 2 } }
        while kept > 1 && textWidth(kept) + minBar + 2 > width { kept -= 1 }
        let cells = min(max(width - textWidth(kept) - 2, 1), maxBar)
        let barText = bar(fraction: e.progressPct / 100, cells: cells)
        let painted = style.paint(barText, e.status == .started ? .dim : .cyan)
        return painted + " " + fields.prefix(kept).map(\.painted).joined(separator: "  ")
    }

    /// The import's line: bytes sent of the file's size, and the rate.
    static func bytesLine(sent: Int64, total: Int64, seconds: Double, width: Int, style: Style) -> String {
        let fraction = total > 0 ? Double(sent) / Double(total) : 1
        var text =
            pad(Format.percent(fraction * 100, decimals: 1), 6) + "  " + Format.bytes(sent) + " / "
            + Format.bytes(total)
        if seconds > 0 { text += "  " + Format.bytes(Int64(Double(sent) / seconds)) + "/s" }
        let cells = min(max(width - Table.width(text) - 3, 5), 30)
        return style.paint(bar(fraction: fraction, cells: cells), .cyan) + " " + text
    }

    private static func pad(_ s: String, _ width: Int) -> String {
        String(repeating: " ", count: max(width - Table.width(s), 0)) + s
    }
}
