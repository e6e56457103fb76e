import BacktestProto

/// How a walk-forward looks in text: a row per window (where it optimised, what it
/// chose, how that did out of sample), then the stitched out-of-sample statistics.
enum WalkForwardView {
    static func table(_ result: WalkForwardResult, objective: String, style: Style) -> Table {
        let names = result.windows.first { !$0.params.isEmpty }?.params.map(\.name) ?? []
        var columns: [Table.Column] = [.init("#", .right), .init("IN-SAMPLE"), .init("OUT-OF-SAMPLE")]
        columns += names.map { Table.Column($0, .right) }
        columns += [
            .init("IS " + objective.uppercased(), .right), .init("OOS RETURN%", .right), .init("OOS SHARPE", .right),
            .init("OOS MAXDD%", .right), .init("OOS TRADES", .right), .init("NOTE"),
        ]
        var table = Table(columns)
        for w in result.windows {
            var row: [Table.Cell] = [
                .init(String(w.index + 1)), .init(range(w.inSampleStart, w.inSampleEnd)),
                .init(range(w.outOfSampleStart, w.outOfSampleEnd)),
            ]
            row += names.map { name in
                .init(w.params.first { $0.name == name }.map { Format.shortest($0.value) } ?? Format.undefined)
            }
            row.append(.init(w.params.isEmpty ? Format.undefined : Format.number(w.inSampleValue, decimals: 3)))
            if let s = w.outOfSampleStatistics {
                row += [
                    .init(Format.number(s.returnPct), s.returnPct > 0 ? .green : s.returnPct < 0 ? .red : nil),
                    .init(Format.number(s.sharpeRatio, decimals: 3)), .init(Format.number(s.maxDrawdownPct)),
                    .init(String(s.totalTrades)),
                ]
            } else {
                row += Array(repeating: Table.Cell(Format.undefined), count: 4)
            }
            row.append(.init(w.error, w.error.isEmpty ? nil : .yellow))
            table.append(row)
        }
        return table
    }

    /// `2004-08-19 .. 2010-01-05` (half-open).
    static func range(_ start: ProtoTimestamp?, _ end: ProtoTimestamp?) -> String {
        "\(start.map(TimeDisplay.compact) ?? "?") .. \(end.map(TimeDisplay.compact) ?? "?")"
    }

    /// The windows, then the stitched run's session and statistics.
    static func render(_ result: WalkForwardResult, objective: String, style: Style) -> String {
        var text = table(result, objective: objective, style: style).render(style: style)
        if let statistics = result.statistics {
            text += "\n\nstitched out-of-sample run: session \(style.paint(result.sessionID, .bold))"
            text += " (backtest show / trades / equity)\n"
            text += SessionView.statistics(statistics, style: style)
        }
        return text
    }
}
