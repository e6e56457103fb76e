import BacktestEngine
import BacktestStore

/// A checked sweep, expanded: each axis's values, and the combinations to run as grid
/// indices (mixed radix over the axes, the last axis fastest), constraints applied and
/// sampling done. Combination n of the sweep is `grid[n]`; its parameters and
/// configuration are computed when it runs, so memory is 8 bytes a combination
/// whatever the strategy.
struct SweepPlan: Sendable {
    let request: SweepRequest
    let names: [String]
    let values: [[Double]]
    let grid: [Int64]
    let objective: SweepStatistic
    let topK: Int
    let workers: Int
    /// The budget of indicator columns shared between combinations (`SharedColumns`).
    let sharedColumnBytes: Int
    /// A walk-forward's windows; nil for a plain sweep.
    let walkForward: WalkForwardPlan?

    var count: Int { grid.count }

    /// Engine runs over in-sample data: every combination once per window.
    var runs: Int { count * (walkForward?.windows.count ?? 1) }

    /// Checks every field (naming it as the contract does) and expands the axes; with
    /// `grid`, those grid positions are the combinations (a shard's, on a node other
    /// than the sweep's coordinator) instead of the ones the axes, constraints and
    /// sample give.
    init(_ request: SweepRequest, limits: SweepRegistry.Limits, grid: [Int64]? = nil) throws(ServiceError) {
        self.request = request
        let objectiveName = request.objective.isEmpty ? SweepRequest.defaultObjective : request.objective
        guard let objective = SweepStatistic.named(objectiveName) else {
            throw .invalid("objective", "unknown statistic \"\(objectiveName)\"; one of \(SweepStatistic.names)")
        }
        self.objective = objective
        guard request.topK >= 0, request.topK <= limits.maxTopK else {
            throw .invalid("top_k", "at most \(limits.maxTopK), got \(request.topK)")
        }
        topK = request.topK == 0 ? SweepRequest.defaultTopK : request.topK
        if let spec = request.walkForward {
            guard request.topK == 0 else {
                throw .invalid("top_k", "a walk-forward keeps its out-of-sample runs, not the best K: leave it 0")
            }
            guard case .candles = request.base.timeframe else {
                throw .invalid("backtest.timeframe", "a walk-forward needs candles (a timeframe such as 1d), not ticks")
            }
            walkForward = try WalkForwardPlan(spec, range: request.base.range)
        } else {
            walkForward = nil
        }
        guard request.workers >= 0 else { throw .invalid("workers", "must be 0 (every core) or positive") }
        workers = request.workers == 0 ? limits.workers : min(request.workers, limits.workers)
        sharedColumnBytes = limits.sharedColumnBytes
        guard request.sampleSize >= 0, request.sampleSize <= limits.maxCombinations else {
            throw .invalid(
                "sample_size", "at most \(limits.maxCombinations) (the combination limit), got \(request.sampleSize)")
        }

        guard !request.axes.isEmpty else { throw .invalid("axes", "at least one parameter axis is required") }
        let known = SweepRequest.knownParameters(request.base.config.strategy)
        var names: [String] = []
        var values: [[Double]] = []
        for (i, axis) in request.axes.enumerated() {
            let field = "axes[\(i)]"
            guard !axis.name.isEmpty else { throw .invalid("\(field).name", "required") }
            guard known.contains(axis.name) else {
                let have = known.isEmpty ? "none" : known.sorted().joined(separator: ", ")
                throw .invalid(
                    "\(field).name",
                    "unknown parameter \"\(axis.name)\" of strategy \(request.base.config.strategy.displayName) (it has \(have))"
                )
            }
            guard !names.contains(axis.name) else { throw .invalid("\(field).name", "\"\(axis.name)\" is swept twice") }
            names.append(axis.name)
            values.append(try axis.expanded(field: field, limit: limits.maxCombinations))
        }
        self.names = names
        self.values = values

        var constraints: [SweepConstraint] = []
        for (i, text) in request.constraints.enumerated() {
            do {
                constraints.append(try SweepConstraint(text, names: names))
            } catch {
                throw .invalid("constraints[\(i)]", "\"\(text)\" \(error.description)")
            }
        }

        // Every axis's extremes through the engine's rules (the other axes at their
        // first value), so a period of 0 is refused here rather than failing each run.
        for (i, axisValues) in values.enumerated() {
            for v in Set([axisValues.min()!, axisValues.max()!]) {
                var params = zip(names, values).map { SweepParam(name: $0, value: $1[0]) }
                params[i].value = v
                do {
                    try Engine.validate(SweepRequest.config(request.base.config, params))
                } catch {
                    throw .invalid("axes[\(i)]", "\(names[i]) = \(v): \(error.description)")
                }
            }
        }

        if let grid {
            self.grid = grid
            return
        }
        self.grid = try Self.combinations(
            values: values, constraints: constraints, sampleSize: request.sampleSize, seed: request.seed,
            limits: limits)
        guard !self.grid.isEmpty else {
            throw .invalid("constraints", "no combination of the axes meets the constraints")
        }
        if let walkForward, self.grid.count * walkForward.windows.count > limits.maxCombinations {
            throw .invalid(
                "walk_forward.windows",
                "\(walkForward.windows.count) windows x \(self.grid.count) combinations is more than the limit of \(limits.maxCombinations) runs"
            )
        }
    }

    /// The grid indices to run, in increasing order.
    private static func combinations(
        values: [[Double]], constraints: [SweepConstraint], sampleSize: Int, seed: UInt64,
        limits: SweepRegistry.Limits
    ) throws(ServiceError) -> [Int64] {
        var product: Int64 = 1
        for v in values {
            let (p, overflow) = product.multipliedReportingOverflow(by: Int64(v.count))
            product = overflow ? .max : p
        }
        func holds(_ index: Int64, _ scratch: inout [Double]) -> Bool {
            var rest = index
            for axis in stride(from: values.count - 1, through: 0, by: -1) {
                let n = Int64(values[axis].count)
                scratch[axis] = values[axis][Int(rest % n)]
                rest /= n
            }
            return constraints.allSatisfy { $0.holds(scratch) }
        }
        var scratch = [Double](repeating: 0, count: values.count)
        var random = SplitMix64(seed: seed)

        if product <= Int64(limits.maxEnumerated) {
            var valid: [Int64] = []
            for index in 0..<product where holds(index, &scratch) {
                valid.append(index)
                if sampleSize == 0 && valid.count > limits.maxCombinations {
                    throw tooMany(product: product, limit: limits.maxCombinations)
                }
            }
            guard sampleSize > 0, sampleSize < valid.count else { return valid }
            // A seeded partial Fisher-Yates: the same seed draws the same combinations.
            for i in 0..<sampleSize {
                let j = i + Int(random.next(below: UInt64(valid.count - i)))
                valid.swapAt(i, j)
            }
            return valid.prefix(sampleSize).sorted()
        }
        guard sampleSize > 0 else { throw tooMany(product: product, limit: limits.maxCombinations) }
        // Too large a grid to list: draw indices and keep those meeting the constraints,
        // within a bounded number of draws.
        var drawn = Set<Int64>()
        var attempts = 0
        let maxAttempts = sampleSize * 100 + 10_000
        while drawn.count < sampleSize && attempts < maxAttempts {
            attempts += 1
            let index = Int64(bitPattern: random.next(below: UInt64(product)))
            if !drawn.contains(index), holds(index, &scratch) { drawn.insert(index) }
        }
        return drawn.sorted()
    }

    private static func tooMany(product: Int64, limit: Int) -> ServiceError {
        let size = product == .max ? "more than 9e18" : "\(product)"
        return .invalid(
            "axes",
            "too many combinations (\(size) in the grid; more than \(limit) meet the constraints): narrow the axes, add constraints or sample (sample_size)"
        )
    }

    /// The parameters of combination `n` of the sweep, in axis order.
    func params(_ n: Int) -> [SweepParam] {
        var rest = grid[n]
        var out = [SweepParam](repeating: SweepParam(name: "", value: 0), count: names.count)
        for axis in stride(from: names.count - 1, through: 0, by: -1) {
            let k = Int64(values[axis].count)
            out[axis] = SweepParam(name: names[axis], value: values[axis][Int(rest % k)])
            rest /= k
        }
        return out
    }
}
