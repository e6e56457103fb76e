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
        let text = "\(Self.prefix)\(offset):\(String(fingerprint, radix: 16))"
        return Data(text.utf8).base64EncodedString()
            .replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }

    init(decoding token: String, expectedFingerprint: UInt64) throws(StoreError) {
        var base64 = token.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        while base64.count % 4 != 0 { base64 += "=" }
        guard let data = Data(base64Encoded: base64), let text = String(data: data, encoding: .utf8),
            text.hasPrefix(Self.prefix)
        else {
            throw StoreError.badPageToken("\"\(token.prefix(64))\" is not a page token of this service")
        }
        let parts = text.dropFirst(Self.prefix.count).split(separator: ":", omittingEmptySubsequences: false)
        guard parts.count == 2, let offset = Int(parts[0]), offset >= 0, let hash = UInt64(parts[1], radix: 16)
        else {
            throw StoreError.badPageToken("\"\(token.prefix(64))\" is not a page token of this service")
        }
        guard hash == expectedFingerprint else {
            throw StoreError.badPageToken("the token belongs to another listing or sort order")
        }
        self.init(offset: offset, fingerprint: hash)
    }

    /// FNV-1a over the parts that define the listing.
    static func fingerprint(_ parts: [String]) -> UInt64 {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for part in parts {
            for byte in part.utf8 {
                hash ^= UInt64(byte)
                hash = hash &* 0x100_0000_01b3
            }
            hash ^= 0xff
            hash = hash &* 0x100_0000_01b3
        }
        return hash
    }
}
