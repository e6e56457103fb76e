import BacktestEngine

/// A sweep result's statistics as columns of their own, one per statistic, named after
/// its key in snake case (`sharpeRatio` -> `sharpe_ratio`): QuestDB then sorts a sweep's
/// rows by any of them in SQL, where a JSON document would have to be decoded row by
/// row. Ratios and amounts are DOUBLE (QuestDB keeps infinities; NaN is stored as NULL
/// and read back as NaN), counts, times and durations LONG.
enum QuestDBStatistics {
    enum Field: Sendable {
        case double(WritableKeyPath<BacktestStatistics, Double> & Sendable)
        case long(WritableKeyPath<BacktestStatistics, Int64> & Sendable)
        case int(WritableKeyPath<BacktestStatistics, Int> & Sendable)
    }

    struct Column: Sendable {
        /// The statistic's key in BacktestStatistics (a sort key).
        let key: String
        /// The column: the key in snake case; always quoted in SQL (`end` is a keyword).
        let name: String
        let field: Field

        init(_ key: String, _ field: Field) {
            self.key = key
            self.field = field
            var name = ""
            for c in key {
                if c.isUppercase { name += "_" + c.lowercased() } else { name.append(c) }
            }
            self.name = name
        }

        var sqlType: String {
            if case .double = field { return "DOUBLE" }
            return "LONG"
        }

        /// Whether a row has a value here: false for a failed combination (no
        /// statistics: NULL) and for NaN. (Not `IS NULL`: QuestDB's differs between
        /// contexts for infinities, which are values and sort as such.)
        var hasValue: String { "(\"\(name)\" <= 0 OR \"\(name)\" > 0)" }
    }

    /// In BacktestStatistics' order (QuestDBRowsTests checks that every key is here).
    static let columns: [Column] = [
        Column("start", .long(\.start)), Column("end", .long(\.end)),
        Column("durationMicros", .long(\.durationMicros)), Column("exposureTimePct", .double(\.exposureTimePct)),
        Column("equityFinal", .double(\.equityFinal)), Column("equityPeak", .double(\.equityPeak)),
        Column("finalPnl", .double(\.finalPnl)), Column("returnPct", .double(\.returnPct)),
        Column("buyAndHoldReturnPct", .double(\.buyAndHoldReturnPct)),
        Column("returnAnnualizedPct", .double(\.returnAnnualizedPct)),
        Column("volatilityAnnualizedPct", .double(\.volatilityAnnualizedPct)), Column("cagrPct", .double(\.cagrPct)),
        Column("sharpeRatio", .double(\.sharpeRatio)), Column("sortinoRatio", .double(\.sortinoRatio)),
        Column("calmarRatio", .double(\.calmarRatio)), Column("alphaPct", .double(\.alphaPct)),
        Column("beta", .double(\.beta)), Column("maxDrawdownPct", .double(\.maxDrawdownPct)),
        Column("avgDrawdownPct", .double(\.avgDrawdownPct)),
        Column("maxDrawdownDurationMicros", .long(\.maxDrawdownDurationMicros)),
        Column("avgDrawdownDurationMicros", .long(\.avgDrawdownDurationMicros)),
        Column("totalTrades", .int(\.totalTrades)), Column("winRatePct", .double(\.winRatePct)),
        Column("bestTradePct", .double(\.bestTradePct)), Column("worstTradePct", .double(\.worstTradePct)),
        Column("avgTradePct", .double(\.avgTradePct)),
        Column("maxTradeDurationMicros", .long(\.maxTradeDurationMicros)),
        Column("avgTradeDurationMicros", .long(\.avgTradeDurationMicros)),
        Column("profitFactor", .double(\.profitFactor)), Column("expectancyPct", .double(\.expectancyPct)),
        Column("sqn", .double(\.sqn)), Column("kellyCriterion", .double(\.kellyCriterion)),
        Column("commissions", .double(\.commissions)),
    ]

    static func column(key: String) -> Column? { columns.first { $0.key == key } }

    /// `"start" LONG, "end" LONG, ...` for the table's definition.
    static var definitions: String { columns.map { "\"\($0.name)\" \($0.sqlType)" }.joined(separator: ", ") }

    /// `"start", "end", ...` for a SELECT, in `columns` order.
    static var selectList: String { columns.map { "\"\($0.name)\"" }.joined(separator: ", ") }

    /// The ILP fields of one row's statistics.
    static func fields(_ s: BacktestStatistics) -> [(String, ILPBuffer.Value)] {
        columns.map { c in
            switch c.field {
            case .double(let path): return (c.name, .double(s[keyPath: path]))
            case .long(let path): return (c.name, .long(s[keyPath: path]))
            case .int(let path): return (c.name, .long(Int64(s[keyPath: path])))
            }
        }
    }

    /// The statistics from `values` (selectList's columns, in order).
    static func read(_ values: ArraySlice<PGValue>) throws(StoreError) -> BacktestStatistics {
        guard values.count == columns.count else {
            throw StoreError.failed("QuestDB returned \(values.count) statistics columns, expected \(columns.count)")
        }
        var s = BacktestStatistics()
        for (c, v) in zip(columns, values) {
            switch c.field {
            case .double(let path): s[keyPath: path] = QuestDBRows.double(v)
            case .long(let path): s[keyPath: path] = v.int ?? 0
            case .int(let path): s[keyPath: path] = Int(v.int ?? 0)
            }
        }
        return s
    }
}
