/// One swept parameter and its values: a list, or a range `start..stop` in steps of
/// `step` (both ends included when the step lands on `stop`; values are
/// `start + i x step`, never accumulated, so they are exact where the step allows).
public struct SweepAxis: Sendable, Equatable {
    public enum Values: Sendable, Equatable {
        case list([Double])
        case range(start: Double, stop: Double, step: Double)
    }

    public var name: String
    public var values: Values

    public init(name: String, values: Values) {
        self.name = name
        self.values = values
    }

    /// The values, checked; `field` is the axis's path (`axes[1]`), `limit` the most
    /// one axis may have.
    func expanded(field: String, limit: Int) throws(ServiceError) -> [Double] {
        switch values {
        case .list(let list):
            guard !list.isEmpty else { throw .invalid("\(field).values", "empty: give at least one value") }
            guard list.count <= limit else {
                throw .invalid("\(field).values", "\(list.count) values, more than the limit of \(limit)")
            }
            var seen = Set<Double>()
            for v in list {
                guard v.isFinite else { throw .invalid("\(field).values", "\(v) is not a finite number") }
                guard seen.insert(v).inserted else { throw .invalid("\(field).values", "\(v) is listed twice") }
            }
            return list
        case .range(let start, let stop, let step):
            guard start.isFinite else { throw .invalid("\(field).range.start", "must be a finite number") }
            guard stop.isFinite else { throw .invalid("\(field).range.stop", "must be a finite number") }
            guard step.isFinite, step > 0 else {
                throw .invalid("\(field).range.step", "must be above 0, got \(step)")
            }
            guard start <= stop else {
                throw .invalid("\(field).range.stop", "\(stop) is below start \(start): the range is empty")
            }
            // A step that lands within a billionth of a step of stop reaches it (0.1 steps).
            let steps = ((stop - start) / step + 1e-9).rounded(.down)
            guard steps < Double(limit) else {
                throw .invalid(
                    "\(field).range", "\(Int64(min(steps, 9e18)) + 1) values, more than the limit of \(limit)")
            }
            return (0...Int(steps)).map { start + Double($0) * step }
        }
    }
}
