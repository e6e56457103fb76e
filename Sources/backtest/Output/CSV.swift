import BacktestProto
import Foundation

/// RFC 4180 rows: fields quoted only when they hold a comma, quote or line break;
/// numbers at full precision, times ISO 8601 UTC, NaN and unset values empty.
enum CSV {
    static func row(_ fields: [String]) -> String {
        fields.map { field in
            guard field.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" }) else { return field }
            return "\"" + field.replacingOccurrences(of: "\"", with: "\"\"") + "\""
        }.joined(separator: ",")
    }

    static func number(_ d: Double) -> String { d.isFinite ? Format.shortest(d) : "" }
    static func time(_ t: ProtoTimestamp?) -> String { t.map(TimeDisplay.iso) ?? "" }

    static let tradeHeader = [
        "trade_number", "side", "quantity", "entry_time", "exit_time", "entry_price", "exit_price",
        "pnl", "return_pct", "commission", "entry_rule", "exit_rule", "entry_index", "exit_index",
    ]

    static func trade(_ t: Trade) -> [String] {
        [
            String(t.tradeNumber), t.side.name, number(t.quantity), time(t.entryTime), time(t.exitTime),
            number(t.entryPrice),
            number(t.exitPrice), number(t.pnl), number(t.returnPct), number(t.commission), t.entryRule, t.exitRule,
            String(t.entryIndex), String(t.exitIndex),
        ]
    }

    static let equityHeader = ["time", "equity", "cash", "position_size", "drawdown_pct"]

    static func equity(_ p: EquityPoint) -> [String] {
        [time(p.time), number(p.equity), number(p.cash), number(p.positionSize), number(p.drawdownPct)]
    }
}
