import BacktestCore
import BacktestEngine
import BacktestProto
import BacktestStore

/// StartSweepRequest -> the core's SweepRequest, and the core's sweeps, rows and
/// progress -> the contract's messages. The base request goes through the same mapping
/// as StartBacktest (its fields named `backtest.*`); the request as accepted (defaults
/// filled in) is encoded for storage, and each combination's StartBacktest request
/// (the accepted base with its parameters set) for the sessions of the best.
enum SweepMapping {
    static func sweepRequest(_ request: StartSweepRequest) throws(ServiceError) -> SweepRequest {
        guard let baseMessage = request.backtest else {
            throw .invalid("backtest", "required (a StartBacktest request)")
        }
        let base: RunRequest
        do {
            base = try StartRequestMapping.runRequest(baseMessage)
        } catch {
            throw ServiceError(error.kind, field: error.field.map { "backtest.\($0)" } ?? "backtest", error.reason)
        }
        var axes: [SweepAxis] = []
        for (i, axis) in request.axes.enumerated() {
            switch axis.values {
            case nil: throw .invalid("axes[\(i)]", "values required (a list or a range)")
            case .list(let list)?: axes.append(SweepAxis(name: axis.name, values: .list(list.values)))
            case .range(let r)?:
                axes.append(SweepAxis(name: axis.name, values: .range(start: r.start, stop: r.stop, step: r.step)))
            }
        }
        let walkForward = try request.walkForward.map { w throws(ServiceError) in try Self.walkForward(w) }
        var accepted = request
        let acceptedBase: StartBacktestRequest
        do {
            acceptedBase = try StartBacktestRequest(serializedBytes: base.encoded)
        } catch {
            throw ServiceError(.internal, "the accepted base request does not decode: \(error)", cause: error)
        }
        accepted.backtest = acceptedBase
        if accepted.objective.isEmpty { accepted.objective = SweepRequest.defaultObjective }
        if accepted.direction == .unspecified { accepted.direction = .maximize }
        if accepted.topK == 0 && walkForward == nil { accepted.topK = UInt32(SweepRequest.defaultTopK) }
        if accepted.walkForward?.windows ?? 0 > 0 && accepted.walkForward?.inSampleRatio == 0 {
            accepted.walkForward?.inSampleRatio = WalkForwardSpec.defaultRatio
        }
        let encoded: [UInt8]
        do {
            encoded = try accepted.serializedBytes()
        } catch {
            throw ServiceError(.internal, "the accepted request does not encode: \(error)", cause: error)
        }
        return SweepRequest(
            base: base, axes: axes, constraints: request.constraints, objective: request.objective,
            maximize: request.direction != .minimize, topK: Int(request.topK), sampleSize: Int(request.sampleSize),
            seed: request.seed, workers: Int(request.workers), walkForward: walkForward, encoded: encoded,
            sessionRequest: { params in sessionRequest(acceptedBase, params) },
            stitchedRequest: { span in
                var request = acceptedBase
                request.startTime = ProtoMapping.timestamp(span.start)
                request.endTime = ProtoMapping.timestamp(span.end)
                return (try? request.serializedBytes()) ?? []
            })
    }

    /// A sweep's request as stored and as nodes of a cluster pass it (`encoded`).
    static func sweepRequest(encoded: [UInt8]) throws(ServiceError) -> SweepRequest {
        let message: StartSweepRequest
        do {
            message = try StartSweepRequest(serializedBytes: encoded)
        } catch {
            throw ServiceError(.internal, "a sweep's encoded request does not decode: \(error)", cause: error)
        }
        return try sweepRequest(message)
    }

    /// The walk-forward's cut; lengths are checked here only as durations (the plan
    /// checks the rest, naming the same fields).
    static func walkForward(_ w: WalkForward) throws(ServiceError) -> WalkForwardSpec {
        func micros(_ d: ProtoDuration?, _ field: String) throws(ServiceError) -> Int64? {
            guard let d else { return nil }
            guard let us = d.microseconds else { throw .invalid("walk_forward.\(field)", "not a valid duration") }
            return us
        }
        return WalkForwardSpec(
            windows: Int(w.windows), inSampleRatio: w.inSampleRatio, anchored: w.anchored,
            inSampleLength: try micros(w.inSampleLength, "in_sample_length"),
            outOfSampleLength: try micros(w.outOfSampleLength, "out_of_sample_length"))
    }

    static func window(_ w: WalkForwardWindowRow) -> WalkForwardWindow {
        var m = WalkForwardWindow()
        m.index = UInt32(w.index)
        m.inSampleStart = ProtoMapping.timestamp(w.inSample.start)
        m.inSampleEnd = ProtoMapping.timestamp(w.inSample.end)
        m.outOfSampleStart = ProtoMapping.timestamp(w.outOfSample.start)
        m.outOfSampleEnd = ProtoMapping.timestamp(w.outOfSample.end)
        m.combination = UInt64(max(0, w.combination ?? 0))
        m.params = w.params.map { ParameterValue(name: $0.name, value: $0.value) }
        m.inSampleValue = w.inSampleValue
        m.inSampleStatistics = w.inSampleStatistics.map(ProtoMapping.statistics)
        m.initialCapital = w.initialCapital
        m.outOfSampleStatistics = w.outOfSampleStatistics.map(ProtoMapping.statistics)
        m.error = w.error
        return m
    }

    /// The StartBacktest request a combination's session would have been started with.
    static func sessionRequest(_ base: StartBacktestRequest, _ params: [SweepParam]) -> [UInt8] {
        var request = base
        switch request.strategy?.kind {
        case .builtin(var builtin)?:
            for p in params { builtin.params[p.name] = p.value }
            request.strategy?.kind = .builtin(builtin)
        case .rules(var rules)?:
            for p in params { rules.params[p.name] = p.value }
            request.strategy?.kind = .rules(rules)
        case nil: break
        }
        return (try? request.serializedBytes()) ?? []
    }

    static func sweep(_ r: SweepRecord) -> Sweep {
        var s = Sweep()
        s.sweepID = r.id
        s.status = ProtoMapping.status(r.state)
        s.request = try? StartSweepRequest(serializedBytes: r.request)
        s.total = r.total
        s.done = r.done
        s.failed = r.failed
        s.objective = r.objective
        s.direction = r.maximize ? .maximize : .minimize
        s.bestCombination = r.bestCombination ?? -1
        s.bestValue = r.bestValue
        s.createdAt = ProtoMapping.timestamp(r.createdAt)
        s.startedAt = ProtoMapping.timestamp(r.startedAt)
        s.completedAt = ProtoMapping.timestamp(r.completedAt)
        s.errorMessage = r.errorMessage
        s.stopReason = r.stopReason
        return s
    }

    static func result(_ row: SweepResultRow) -> SweepResult {
        var r = SweepResult()
        r.combination = UInt64(max(0, row.combination))
        r.params = row.params.map { ParameterValue(name: $0.name, value: $0.value) }
        r.statistics = row.statistics.map(ProtoMapping.statistics)
        r.error = row.error
        r.sessionID = row.sessionId
        return r
    }

    static func event(_ p: SweepProgress) -> SweepProgressEvent {
        var e = SweepProgressEvent()
        e.sweepID = p.sweepId
        e.sequence = p.sequence
        e.kind =
            switch p.kind {
            case .snapshot: .snapshot
            case .update: .update
            case .terminal: .terminal
            }
        e.status = ProtoMapping.status(p.state)
        e.total = p.total
        e.done = p.done
        e.failed = p.failed
        e.progressPct = p.total == 0 ? 0 : Double(p.done) / Double(p.total) * 100
        e.best = p.best.map(result)
        e.bestValue = p.bestValue
        e.combinationsPerSecond = p.combinationsPerSecond
        e.eta = p.eta.map { ProtoDuration($0) }
        e.wallTime = ProtoMapping.timestamp(p.wallTime)
        e.errorMessage = p.errorMessage
        e.stopReason = p.stopReason
        e.windows = UInt32(p.windows)
        e.window = UInt32(p.window)
        return e
    }
}
