import BacktestProto

// The names the CLI prints and accepts for the contract's enums: the proto value
// name without its prefix, in lower case (SESSION_STATUS_COMPLETED -> "completed").

extension SessionStatus {
    var name: String {
        switch self {
        case .unspecified: "unspecified"
        case .started: "started"
        case .running: "running"
        case .completed: "completed"
        case .failed: "failed"
        case .stopped: "stopped"
        }
    }

    var isTerminal: Bool { self == .completed || self == .failed || self == .stopped }
}

extension ProgressEventKind {
    var name: String {
        switch self {
        case .unspecified: "unspecified"
        case .snapshot: "snapshot"
        case .update: "update"
        case .terminal: "terminal"
        }
    }
}

extension FillMode {
    var name: String {
        switch self {
        case .unspecified: "unspecified"
        case .nextOpen: "next_open"
        case .onClose: "on_close"
        }
    }
}

extension SizingMode {
    var name: String {
        switch self {
        case .unspecified: "unspecified"
        case .allEquity: "all_equity"
        case .equityFraction: "equity_fraction"
        case .fixedUnits: "fixed_units"
        case .fixedNotional: "fixed_notional"
        }
    }
}

extension DataKind {
    var name: String {
        switch self {
        case .unspecified: "unspecified"
        case .candles: "candles"
        case .ticks: "ticks"
        }
    }
}

extension TradeSide {
    var name: String {
        switch self {
        case .unspecified: "unspecified"
        case .long: "long"
        case .short: "short"
        }
    }
}

extension RuleKind {
    var name: String {
        switch self {
        case .unspecified: "unspecified"
        case .entryLong: "entry_long"
        case .exitLong: "exit_long"
        case .entryShort: "entry_short"
        case .exitShort: "exit_short"
        }
    }
}

/// Parses a lower-case name, or the full proto name (`SESSION_STATUS_COMPLETED`),
/// case-insensitively.
func parseEnum<E: CaseIterable>(_ text: String, prefix: String, name: (E) -> String) -> E? {
    var t = text.lowercased()
    if t.hasPrefix(prefix) { t.removeFirst(prefix.count) }
    return E.allCases.first { name($0) == t && name($0) != "unspecified" }
}
