import BacktestProto

/// Sessions side by side: a column per session, a row per request field, parameter
/// and statistic, so what differs between them reads across a line.
enum CompareView {
    /// Column titles: the ids' first 8 characters when those tell them apart.
    static func titles(_ ids: [String]) -> [String] {
        let short = ids.map { String($0.prefix(8)) }
        return Set(short).count == short.count ? short : ids
    }

    static func table(_ sessions: [Session]) -> Table {
        var table = Table([Table.Column("")] + titles(sessions.map(\.sessionID)).map { Table.Column($0, .right) })
        let requests = sessions.map { $0.request ?? StartBacktestRequest() }
        func row(_ name: String, _ cell: (Session, StartBacktestRequest) -> Table.Cell) {
            table.append([Table.Cell(name)] + zip(sessions, requests).map(cell))
        }
        row("Status") { s, _ in Table.Cell(s.status.name, Style.color(for: s.status.name)) }
        row("Symbol") { _, r in Table.Cell("\(r.symbol) \(r.timeframe)") }
        row("From") { _, r in Table.Cell(r.startTime.map(TimeDisplay.compact) ?? Format.undefined) }
        row("To") { _, r in Table.Cell(r.endTime.map(TimeDisplay.compact) ?? Format.undefined) }
        row("Strategy") { _, r in Table.Cell(SessionView.strategyName(r.strategy)) }
        // Every parameter any of them has, by name.
        let names = Set(requests.flatMap { params($0).keys }).sorted()
        for name in names {
            row(name) { _, r in Table.Cell(params(r)[name].map(Format.shortest) ?? Format.undefined) }
        }
        row("Initial capital") { _, r in Table.Cell(Format.number(r.initialCapital)) }
        row("Commission rate") { _, r in Table.Cell(Format.shortest(r.costs?.commissionRate ?? 0)) }
        let statistics = sessions.map { $0.statistics.map(SessionView.statisticRows) }
        guard let names = statistics.compactMap({ $0 }).first?.map(\.0) else { return table }
        for (i, name) in names.enumerated() {
            table.append([Table.Cell(name)] + statistics.map { $0?[i].1 ?? Table.Cell(Format.undefined) })
        }
        return table
    }

    /// A built-in's parameters or a rule set's.
    static func params(_ r: StartBacktestRequest) -> [String: Double] {
        switch r.strategy?.kind {
        case .builtin(let b)?: b.params
        case .rules(let rules)?: rules.params
        case nil: [:]
        }
    }
}
