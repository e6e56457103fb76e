import Testing

@testable import BacktestEngine

@Test(arguments: [("tick", "tick"), ("1m", "1m"), ("60m", "1h"), ("1d", "1d"), ("90s", "90s"), ("24h", "1d")])
func timeframeParsesAndPrintsCanonically(text: String, canonical: String) throws {
    #expect(try Timeframe(parsing: text).description == canonical)
}

@Test(arguments: ["", "m", "0m", "-1m", "01m", "1w", "1.5h", "tick ", "99999999999999d"])
func timeframeRejectsBadText(text: String) {
    #expect(throws: Timeframe.ParseError.self) { try Timeframe(parsing: text) }
}
