import Foundation

/// The opaque ListSessions page token: the last listed session's key (created_at, id)
/// plus a fingerprint of the filters, base64url-encoded. A token is only valid for the
/// query that produced it; anything else is `StoreError.badPageToken`.
struct PageToken: Equatable {
    var createdAt: Int64
    var id: String
    var filterHash: UInt64

    private static let prefix = "bt1:"

    func encoded() -> String {
        let text = "\(Self.prefix)\(createdAt):\(String(filterHash, radix: 16)):\(id)"
        return Data(text.utf8).base64EncodedString()
            .replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }

    init(createdAt: Int64, id: String, filterHash: UInt64) {
        self.createdAt = createdAt
        self.id = id
        self.filterHash = filterHash
    }

    init(decoding token: String, expectedFilterHash: UInt64) throws(StoreError) {
        var base64 = token.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        while base64.count % 4 != 0 { base64 += "=" }
        guard let data = Data(base64Encoded: base64), let text = String(data: data, encoding: .utf8),
            text.hasPrefix(Self.prefix)
        else {
            throw StoreError.badPageToken("\"\(token.prefix(64))\" is not a page token of this service")
        }
        let parts = text.dropFirst(Self.prefix.count).split(
            separator: ":", maxSplits: 2, omittingEmptySubsequences: false)
        guard parts.count == 3, let createdAt = Int64(parts[0]), let hash = UInt64(parts[1], radix: 16) else {
            throw StoreError.badPageToken("\"\(token.prefix(64))\" is not a page token of this service")
        }
        guard hash == expectedFilterHash else {
            throw StoreError.badPageToken("the token belongs to a listing with other filters")
        }
        self.init(createdAt: createdAt, id: String(parts[2]), filterHash: hash)
    }

    /// FNV-1a over the filters (not the page size, which may change between pages).
    static func filterHash(_ query: SessionQuery) -> UInt64 {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        func mix(_ text: String) {
            for byte in text.utf8 {
                hash ^= UInt64(byte)
                hash = hash &* 0x100_0000_01b3
            }
            hash ^= 0xff
            hash = hash &* 0x100_0000_01b3
        }
        for state in query.states.map(\.rawValue).sorted() { mix(state) }
        mix("|")
        mix(query.symbol)
        mix(query.createdAfter.map { String($0) } ?? "-")
        mix(query.createdBefore.map { String($0) } ?? "-")
        for (key, value) in query.labels.sorted(by: { $0.key < $1.key }) {
            mix(key)
            mix(value)
        }
        return hash
    }
}
