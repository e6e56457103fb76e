import Foundation

/// An opaque page token that is a position in a sorted listing plus a fingerprint of
/// what was listed and how (sweep results sorted by a statistic). The results of an
/// ended sweep never change, so a position is stable; a token of another listing is
/// `StoreError.badPageToken`.
struct OffsetPageToken: Equatable {
    var offset: Int
    var fingerprint: UInt64

    private static let prefix = "bo1:"

    init(offset: Int, fingerprint: UInt64) {
        self.offset = offset
        self.fingerprint = fingerprint
    }

    func encoded() -> String {
        PageTokenText.encode("\(Self.prefix)\(offset):\(String(fingerprint, radix: 16))")
    }

    init(decoding token: String, expectedFingerprint: UInt64) throws(StoreError) {
        let parts = try PageTokenText.decode(token, prefix: Self.prefix).split(
            separator: ":", omittingEmptySubsequences: false)
        guard parts.count == 2, let offset = Int(parts[0]), offset >= 0, let hash = UInt64(parts[1], radix: 16)
        else {
            throw PageTokenText.notOurs(token)
        }
        guard hash == expectedFingerprint else {
            throw StoreError.badPageToken("the token belongs to another listing or sort order")
        }
        self.init(offset: offset, fingerprint: hash)
    }
}
