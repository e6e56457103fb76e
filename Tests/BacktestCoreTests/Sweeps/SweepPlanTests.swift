import BacktestEngine
import BacktestStore
import Testing

@testable import BacktestCore

/// Axis expansion, constraints and sampling, without running anything.
@Suite struct SweepPlanTests {
    static func request(
        _ axes: [SweepAxis], constraints: [String] = [], objective: String = "", sample: Int = 0, seed: UInt64 = 0
    ) -> SweepRequest {
        SweepRequest(
            base: CoreFixture.goog(), axes: axes, constraints: constraints, objective: objective, sampleSize: sample,
            seed: seed)
    }

    static func plan(_ request: SweepRequest, limits: SweepRegistry.Limits = .init()) throws(ServiceError)
        -> SweepPlan
    {
        try SweepPlan(request, limits: limits)
    }

    @Test func rangesIncludeTheirEndsAndListsKeepTheirOrder() throws {
        #expect(
            try SweepAxis(name: "n", values: .range(start: 20, stop: 100, step: 2)).expanded(field: "a", limit: 1000)
                == stride(from: 20.0, through: 100, by: 2).map { $0 })
        #expect(
            try SweepAxis(name: "n", values: .range(start: 5, stop: 30, step: 1)).expanded(field: "a", limit: 1000)
                .count == 26)
        // A step that does not land on stop stops below it.
        #expect(
            try SweepAxis(name: "n", values: .range(start: 15, stop: 26, step: 5)).expanded(field: "a", limit: 10)
                == [15, 20, 25])
        // Values are start + i x step: 0.1 steps reach 0.5.
        #expect(
            try SweepAxis(name: "n", values: .range(start: 0.1, stop: 0.5, step: 0.1)).expanded(field: "a", limit: 10)
                .count == 5)
        #expect(try SweepAxis(name: "n", values: .list([30, 10, 20])).expanded(field: "a", limit: 10) == [30, 10, 20])
    }

    @Test func theGridIsTheProductInAxisOrderFilteredByTheConstraints() throws {
        let plan = try Self.plan(
            Self.request(
                [
                    SweepAxis(name: "n1", values: .range(start: 5, stop: 30, step: 1)),
                    SweepAxis(name: "n2", values: .range(start: 20, stop: 100, step: 2)),
                ], constraints: ["n1 < n2"]))
        // The grid: 26 x 41 = 1066 pairs, of which 1030 meet n1 < n2.
        #expect(plan.count == 1030)
        let all = (0..<plan.count).map { plan.params($0).map(\.value) }
        #expect(all.first == [5, 20] && all[1] == [5, 22] && all.last == [30, 100])
        let constrained = try Self.plan(
            Self.request(
                [
                    SweepAxis(name: "n1", values: .range(start: 5, stop: 30, step: 1)),
                    SweepAxis(name: "n2", values: .range(start: 20, stop: 100, step: 2)),
                ], constraints: ["n1 * 3 <= n2 && n2 != 40"]))
        for n in 0..<constrained.count {
            let p = constrained.params(n)
            #expect(p[0].value * 3 <= p[1].value && p[1].value != 40)
        }
        var expected = 0
        for n1 in 5...30 {
            for n2 in stride(from: 20, through: 100, by: 2) where n1 * 3 <= n2 && n2 != 40 { expected += 1 }
        }
        #expect(constrained.count == expected)
    }

    @Test func constraintsParseTheirLanguage() throws {
        let names = ["a", "b", "c"]
        func holds(_ text: String, _ v: [Double]) throws -> Bool { try SweepConstraint(text, names: names).holds(v) }
        #expect(try holds("a < b", [1, 2, 0]))
        #expect(try !holds("a >= b", [1, 2, 0]))
        #expect(try holds("a == 1 and b != 1 && c <= 0", [1, 2, 0]))
        #expect(try holds("a > 5 or b > 1", [1, 2, 0]))
        #expect(try holds("not (a > 5 || b > 5)", [1, 2, 0]))
        #expect(try holds("(a + b) * 2 > c - -1", [1, 2, 0]))
        #expect(try holds("!(a / 2 == 1)", [1, 2, 0]))
        #expect(try holds("2.5e0 > a", [1, 2, 0]))

        func error(_ text: String) -> SweepConstraint.ParseError? {
            do {
                _ = try SweepConstraint(text, names: names)
                return nil
            } catch { return error }
        }
        #expect(error("a < d")?.description == "at 5: unknown parameter \"d\" (swept: a, b, c)")
        #expect(error("a <")?.description == "at 4: expected a parameter or a number, found the end")
        #expect(error("a")?.position == 2)
        #expect(error("a < b c")?.position == 7)
        #expect(error("a # b")?.description == "at 3: unexpected character \"#\"")
    }

    @Test func aSampleIsDrawnBySeedFromTheConstrainedGrid() throws {
        let axes = [
            SweepAxis(name: "n1", values: .range(start: 5, stop: 30, step: 1)),
            SweepAxis(name: "n2", values: .range(start: 20, stop: 100, step: 2)),
        ]
        let a = try Self.plan(Self.request(axes, constraints: ["n1 < n2"], sample: 50, seed: 7))
        let b = try Self.plan(Self.request(axes, constraints: ["n1 < n2"], sample: 50, seed: 7))
        let c = try Self.plan(Self.request(axes, constraints: ["n1 < n2"], sample: 50, seed: 8))
        #expect(a.count == 50 && a.grid == b.grid && a.grid != c.grid)
        #expect(Set(a.grid).count == 50 && a.grid == a.grid.sorted())
        // A grid too large to list is sampled by drawing indices.
        var request = Self.request([], sample: 1000, seed: 3)
        request.base = CoreFixture.goog(strategy: .builtin(name: "default", params: [:]))
        request.axes = [
            SweepAxis(name: "volume_period", values: .range(start: 1, stop: 100_000, step: 1)),
            SweepAxis(name: "momentum", values: .range(start: 0, stop: 1, step: 0.00001)),
        ]
        let sampled = try Self.plan(request)
        #expect(sampled.count == 1000)
    }

    @Test(arguments: [
        (SweepAxis(name: "n3", values: .list([1])), "axes[0].name"),
        (SweepAxis(name: "", values: .list([1])), "axes[0].name"),
        (SweepAxis(name: "n1", values: .list([])), "axes[0].values"),
        (SweepAxis(name: "n1", values: .list([5, 5])), "axes[0].values"),
        (SweepAxis(name: "n1", values: .range(start: 5, stop: 30, step: 0)), "axes[0].range.step"),
        (SweepAxis(name: "n1", values: .range(start: 5, stop: 30, step: -1)), "axes[0].range.step"),
        (SweepAxis(name: "n1", values: .range(start: 30, stop: 5, step: 1)), "axes[0].range.stop"),
        (SweepAxis(name: "n1", values: .range(start: 0, stop: 5, step: 1)), "axes[0]"),
    ])
    func badAxesAreRefusedNamingTheField(axis: SweepAxis, field: String) {
        #expect(throws: ServiceError.self) { try Self.plan(Self.request([axis])) }
        do {
            _ = try Self.plan(Self.request([axis]))
        } catch {
            #expect(error.kind == .invalidArgument && error.field == field, "\(error.message)")
        }
    }

    @Test func otherBadInputsNameTheirField() {
        let n1 = SweepAxis(name: "n1", values: .range(start: 5, stop: 10, step: 1))
        let n2 = SweepAxis(name: "n2", values: .range(start: 15, stop: 25, step: 5))
        func field(_ request: SweepRequest, limits: SweepRegistry.Limits = .init()) -> String? {
            do {
                _ = try Self.plan(request, limits: limits)
                return nil
            } catch {
                return error.kind == .invalidArgument ? error.field : "\(error.kind)"
            }
        }
        #expect(field(Self.request([])) == "axes")
        #expect(field(Self.request([n1, n1])) == "axes[1].name")
        #expect(field(Self.request([n1, n2], objective: "sharpness")) == "objective")
        #expect(field(Self.request([n1, n2], constraints: ["n1 <"])) == "constraints[0]")
        #expect(field(Self.request([n1, n2], constraints: ["n1 < n2", "n1 < x"])) == "constraints[1]")
        #expect(field(Self.request([n1, n2], constraints: ["n1 > n2"])) == "constraints")
        #expect(field(Self.request([n1, n2]), limits: .init(maxCombinations: 10)) == "axes")
        #expect(field(Self.request([n1, n2], sample: 11), limits: .init(maxCombinations: 10)) == "sample_size")
        var topK = Self.request([n1, n2])
        topK.topK = 101
        #expect(field(topK) == "top_k")
        #expect(field(Self.request([n1, n2])) == nil)
    }
}
