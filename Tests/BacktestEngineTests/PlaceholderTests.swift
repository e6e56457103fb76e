import Testing
@testable import BacktestEngine
@Test func placeholder() { #expect(Bool(true)) }
