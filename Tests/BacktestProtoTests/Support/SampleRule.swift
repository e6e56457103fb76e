@testable import BacktestProto

/// A message type the generated samples cover (see Generated/MessageSamples.swift).
protocol SampleFillable {
    /// How many distinct samples there are: 3, or more when a oneof has more members.
    static var sampleVariants: Int { get }
    static func sample(_ v: Int, depth: Int) -> Self
}

/// The fill rule for sample messages: a value for every field from its number and a
/// variant. Interop/interop.py implements the same rule on Python's protobuf, so
/// both sides can build the same messages independently. Variant 0 holds minimums
/// and empties, 1 maximums and non-ASCII text, 2 ordinary values.
enum SampleRule {
    static let maxDepth = 3

    static func int32(_ n: Int, _ v: Int) -> Int32 {
        switch v % 3 {
        case 0: Int32.min + Int32(n)
        case 1: Int32.max - Int32(n)
        default: -Int32(n * 1000 + 7)
        }
    }

    static func int64(_ n: Int, _ v: Int) -> Int64 {
        switch v % 3 {
        case 0: Int64.min + Int64(n)
        case 1: Int64.max - Int64(n)
        default: -Int64(n * 100_000 + 7)
        }
    }

    static func uint32(_ n: Int, _ v: Int) -> UInt32 {
        switch v % 3 {
        case 0: UInt32(n)
        case 1: UInt32.max - UInt32(n)
        default: UInt32(n * 1000 + 7)
        }
    }

    static func uint64(_ n: Int, _ v: Int) -> UInt64 {
        switch v % 3 {
        case 0: UInt64(n)
        case 1: UInt64.max - UInt64(n)
        default: UInt64(n * 100_000 + 7)
        }
    }

    static func double(_ n: Int, _ v: Int) -> Double {
        switch v % 3 {
        case 0: -Double.greatestFiniteMagnitude
        case 1: Double.leastNonzeroMagnitude * Double(n)
        default: -(Double(n) + 0.1)
        }
    }

    static func float(_ n: Int, _ v: Int) -> Float {
        switch v % 3 {
        case 0: -Float.greatestFiniteMagnitude
        case 1: Float.leastNonzeroMagnitude * Float(n)
        default: Float(n) + 0.5
        }
    }

    static func bool(_ n: Int, _ v: Int) -> Bool { v % 3 != 2 }

    static func string(_ n: Int, _ v: Int) -> String {
        switch v % 3 {
        case 0: ""
        case 1: "field \(n): héllo ✓ 𝄞 \"quoted\" back\\slash\nnewline"
        default: "s\(n)"
        }
    }

    static func bytes(_ n: Int, _ v: Int) -> [UInt8] {
        switch v % 3 {
        case 0: []
        case 1: [0, 255, UInt8(n % 256), 128, 10]
        default: Array(0..<UInt8(n % 7 + 1))
        }
    }

    static func enumValue<E: CaseIterable & RawRepresentable>(_ type: E.Type, _ v: Int) -> E where E.RawValue == Int32 {
        let values = E.allCases.sorted { $0.rawValue < $1.rawValue }
        switch v % 3 {
        case 0: return values[values.count - 1]
        case 1: return values[min(1, values.count - 1)]
        default: return values[values.count / 2]
        }
    }

    /// Timestamps are valid ones (their JSON form has none for the others): the
    /// earliest and the latest there are, and one before 1970 with 6 fractional digits.
    static func timestamp(_ v: Int) -> ProtoTimestamp {
        switch v % 3 {
        case 0: ProtoTimestamp(seconds: ProtoTimestamp.minSeconds, nanos: 0)
        case 1: ProtoTimestamp(seconds: ProtoTimestamp.maxSeconds, nanos: 999_999_999)
        default: ProtoTimestamp(seconds: -100_007, nanos: 2_007_000)
        }
    }

    /// Durations too: the most negative and most positive, and a negative one under a second.
    static func duration(_ v: Int) -> ProtoDuration {
        switch v % 3 {
        case 0: ProtoDuration(seconds: -ProtoDuration.maxSeconds, nanos: -999_999_999)
        case 1: ProtoDuration(seconds: ProtoDuration.maxSeconds, nanos: 999_999_999)
        default: ProtoDuration(seconds: 0, nanos: -250_000_000)
        }
    }

    static func repeated<T>(_ v: Int, _ make: (Int) -> T) -> [T] {
        switch v % 3 {
        case 0: []
        case 1: [make(0), make(1), make(2)]
        default: [make(2)]
        }
    }

    static func map<K: Hashable, V>(_ v: Int, _ make: (Int) -> (K, V)) -> [K: V] {
        let ws: [Int] =
            switch v % 3 {
            case 0: []
            case 1: [1, 2]
            default: [2]
            }
        var out: [K: V] = [:]
        for w in ws {
            let (k, value) = make(w)
            out[k] = value
        }
        return out
    }
}
