import BacktestProto
import Testing

@testable import backtest

/// The heatmap renderer: each cell the best of its combinations over the other axes in
/// the ranking's direction, shaded by quarter of the range, the best marked, gaps dotted.
@Suite struct HeatmapTests {
    static func result(_ a: Double, _ b: Double, _ c: Double, sharpe: Double?) -> SweepResult {
        var r = SweepResult()
        r.params = [
            ParameterValue(name: "a", value: a), ParameterValue(name: "b", value: b),
            ParameterValue(name: "c", value: c),
        ]
        if let sharpe {
            var s = Statistics()
            s.sharpeRatio = sharpe
            r.statistics = s
        } else {
            r.error = "engine: boom"
        }
        return r
    }

    /// a in {1, 2} by b in {10, 20}, c a third axis: (1, 10) has 0 and 4, (1, 20) only
    /// NaN, (2, 10) 1, (2, 20) a failed combination and -2.
    static let results = [
        result(1, 10, 0, sharpe: 0), result(1, 10, 1, sharpe: 4), result(1, 20, 0, sharpe: .nan),
        result(2, 10, 0, sharpe: 1), result(2, 20, 0, sharpe: nil), result(2, 20, 1, sharpe: -2),
    ]

    func cells(_ text: String) -> [[String]] {
        text.split(separator: "\n").dropFirst(3).prefix(2).map { line in
            line.split(separator: " ", omittingEmptySubsequences: true).dropFirst().map(String.init)
        }
    }

    @Test func bestOverTheOtherAxesShadedFromWorstToBest() throws {
        let map = Heatmap(rowAxis: "a", columnAxis: "b", statistic: "sharpe_ratio", maximize: true)
        let text = try #require(map.render(Self.results, style: Style(enabled: false)))
        #expect(text.hasPrefix("sharpe_ratio (higher is better) by a (rows) and b (columns), the best over"))
        // Range -2..4 in quarters of 1.5: 4 is the best quarter (and the best), 1 the third
        // (0.25 of the way up from -0.5), -2 the worst.
        #expect(cells(text) == [["4.000*█", "·"], ["1.000", "▓", "-2.000", "░"]])
        #expect(text.contains("legend: ░ -2.000 to -0.500  ▒ -0.500 to 1.000  ▓ 1.000 to 2.500  █ 2.500 to 4.000"))
    }

    @Test func lowerIsBetterWhenMinimizing() throws {
        let map = Heatmap(rowAxis: "a", columnAxis: "b", statistic: "sharpe_ratio", maximize: false)
        let text = try #require(map.render(Self.results, style: Style(enabled: false)))
        // (1, 10) now keeps 0, the lower; the range is -2..1, -2 the best, 1 the worst and
        // 0 a third of the way from it (the second quarter).
        #expect(cells(text) == [["0.000", "▒", "·"], ["1.000", "░", "-2.000*█"]])
        #expect(text.contains("lower is better"))
    }

    @Test func coloursOnlyWhenStyled() throws {
        let map = Heatmap(rowAxis: "a", columnAxis: "b", statistic: "sharpe_ratio", maximize: true)
        let plain = try #require(map.render(Self.results, style: Style(enabled: false)))
        let coloured = try #require(map.render(Self.results, style: Style(enabled: true)))
        #expect(!plain.contains("\u{1B}["))
        #expect(coloured.contains("\u{1B}[32m4.000*█") && coloured.contains("\u{1B}[31m-2.000 ░"))
    }

    @Test func anAxisTheSweepDoesNotHaveGivesNothing() {
        let map = Heatmap(rowAxis: "a", columnAxis: "z", statistic: "sharpe_ratio", maximize: true)
        #expect(map.render(Self.results, style: Style(enabled: false)) == nil)
    }
}
