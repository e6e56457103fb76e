import ArgumentParser
import BacktestProto

/// `--param NAME=SPEC` of `backtest sweep`: `5..30` (a range in steps of 1),
/// `20..100:2` (steps of 2), `5,10,20` (a list), `14` (one value). The server checks
/// the values themselves (step > 0, a known parameter) and names the axis at fault.
enum SweepAxes {
    static func parse(_ items: [String]) throws -> [ParameterAxis] {
        var axes: [ParameterAxis] = []
        for item in items {
            guard let eq = item.firstIndex(of: "="), eq != item.startIndex else {
                throw ValidationError("--param: expected NAME=VALUES (5..30, 20..100:2, 5,10,20), got '\(item)'")
            }
            let name = String(item[..<eq])
            guard !axes.contains(where: { $0.name == name }) else {
                throw ValidationError("--param: \(name) is given twice")
            }
            let spec = String(item[item.index(after: eq)...])
            var axis = ParameterAxis()
            axis.name = name
            axis.values = try values(spec, name: name)
            axes.append(axis)
        }
        return axes
    }

    private static func values(_ spec: String, name: String) throws -> ParameterAxis.Values {
        func bad() -> ValidationError {
            ValidationError("--param: \(name)=\(spec): expected LO..HI, LO..HI:STEP, a list A,B,C or a number")
        }
        if let dots = spec.range(of: "..") {
            let lo = String(spec[..<dots.lowerBound])
            var rest = String(spec[dots.upperBound...])
            var step = "1"
            if let colon = rest.firstIndex(of: ":") {
                step = String(rest[rest.index(after: colon)...])
                rest = String(rest[..<colon])
            }
            guard let start = OptionParsing.number(lo), let stop = OptionParsing.number(rest),
                let by = OptionParsing.number(step)
            else { throw bad() }
            return .range(ValueRange(start: start, stop: stop, step: by))
        }
        let parts = spec.split(separator: ",", omittingEmptySubsequences: false).map(String.init)
        let numbers = parts.compactMap(OptionParsing.number)
        guard numbers.count == parts.count, !numbers.isEmpty else { throw bad() }
        return .list(ValueList(values: numbers))
    }
}
