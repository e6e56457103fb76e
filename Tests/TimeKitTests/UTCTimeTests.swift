import Foundation
import Testing
import TimeKit

/// The one calendar, against Foundation's (Gregorian, in UTC, from 1582) and the forms
/// protobuf's JSON and the CLI accept.
@Suite struct UTCTimeTests {
    @Test func dayNumbersRoundTripAndMatchFoundation() {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        for day in stride(from: Int64(-719_162), through: 2_932_896, by: 997) {
            let (y, m, d) = UTCTime.civil(day: day)
            #expect(UTCTime.days(year: y, month: m, day: d) == day)
            // Foundation's calendar is Julian before 1582-10-15; ours is proleptic.
            guard day >= -141_427 else { continue }
            let date = Date(timeIntervalSince1970: TimeInterval(day) * 86_400)
            let c = calendar.dateComponents([.year, .month, .day], from: date)
            #expect((Int64(c.year!), Int64(c.month!), Int64(c.day!)) == (y, m, d), "day \(day)")
        }
        #expect(UTCTime.weekday(day: 0) == 3, "1970-01-01 was a Thursday")
        #expect(UTCTime.daysInMonth(year: 2000, month: 2) == 29 && UTCTime.daysInMonth(year: 1900, month: 2) == 28)
    }

    @Test func microsecondText() {
        #expect(UTCTime.format(1_092_873_600_000_000) == "2004-08-19T00:00:00Z")
        #expect(UTCTime.format(-1) == "1969-12-31T23:59:59.999999Z")
        #expect(UTCTime.format(5, microseconds: true) == "1970-01-01T00:00:00.000005Z")
        #expect(UTCTime.range(0, 86_400_000_000) == "[1970-01-01T00:00:00Z, 1970-01-02T00:00:00Z)")
    }

    @Test func rfc3339WithTheFewestDigits() {
        #expect(UTCTime.format(seconds: 63_108_020, nanos: 21_000_000) == "1972-01-01T10:00:20.021Z")
        #expect(UTCTime.format(seconds: 0, nanos: 21_000) == "1970-01-01T00:00:00.000021Z")
        #expect(UTCTime.format(seconds: 0, nanos: 21) == "1970-01-01T00:00:00.000000021Z")
        #expect(UTCTime.format(seconds: -62_135_596_800, nanos: 0) == "0001-01-01T00:00:00Z")
        #expect(UTCTime.format(seconds: 0, nanos: 500_000_000, digits: .micros) == "1970-01-01T00:00:00.500000Z")
        #expect(UTCTime.fraction(nanos: 0) == "" && UTCTime.fraction(nanos: 100_000_000) == ".100")
    }

    @Test func strictParsingIsRFC3339() throws {
        #expect(UTCTime.parse("1972-01-01T10:00:20.021Z")! == (63_108_020, 21_000_000))
        #expect(UTCTime.parse("1972-01-01T12:00:20+02:00")! == (63_108_020, 0))
        #expect(UTCTime.parse("1969-12-31T23:59:59.999999999Z")! == (-1, 999_999_999))
        for bad in [
            "1972-01-01", "1972-01-01T10:00Z", "1972-01-01 10:00:20Z", "1972-01-01T10:00:20", "1972-02-30T00:00:00Z",
            "1972-01-01T10:00:20.0000000001Z", "1972-01-01T10:00:20+0200", "1972-01-01T24:00:00Z",
            "1972-01-01T10:00:20Zjunk",
        ] {
            #expect(UTCTime.parse(bad) == nil, "\(bad)")
        }
    }

    @Test func lenientParsingTakesWhatPeopleType() {
        #expect(UTCTime.parse("2004-08-19", lenient: true)! == (1_092_873_600, 0))
        #expect(UTCTime.parse("2004-08-19 09:30", lenient: true)! == (1_092_907_800, 0))
        #expect(UTCTime.parse("2004-08-19t09:30:00,5z", lenient: true)! == (1_092_907_800, 500_000_000))
        #expect(UTCTime.parse("2004-08-19T11:30:00+0200", lenient: true)! == (1_092_907_800, 0))
        #expect(UTCTime.parse("2004-08-19T09:30:00.1234567891", lenient: true)! == (1_092_907_800, 123_456_789))
        #expect(UTCTime.parse("2004-13-01", lenient: true) == nil)
        #expect(UTCTime.parse("yesterday", lenient: true) == nil)
    }
}
