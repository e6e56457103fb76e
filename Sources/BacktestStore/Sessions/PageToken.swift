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
        PageTokenText.encode("\(Self.prefix)\(createdAt):\(String(filterHash, radix: 16)):\(id)")
    }

    init(createdAt: Int64, id: String, filterHash: UInt64) {
        self.createdAt = createdAt
        self.id = id
        self.filterHash = filterHash
    }

    init(decoding token: String, expectedFilterHash: UInt64) throws(StoreError) {
        let parts = try PageTokenText.decode(token, prefix: Self.prefix).split(
            separator: ":", maxSplits: 2, omittingEmptySubsequences: false)
        guard parts.count == 3, let createdAt = Int64(parts[0]), let hash = UInt64(parts[1], radix: 16) else {
            throw PageTokenText.notOurs(token)
        }
        guard hash == expectedFilterHash else {
            throw StoreError.badPageToken("the token belongs to a listing with other filters")
        }
        self.init(createdAt: createdAt, id: String(parts[2]), filterHash: hash)
    }

    /// FNV-1a over the filters (not the page size, which may change between pages).
    static func filterHash(_ query: SessionQuery) -> UInt64 {
        var parts = query.states.map(\.rawValue).sorted()
        parts += ["|", query.symbol, query.createdAfter.map { String($0) } ?? "-"]
        parts.append(query.createdBefore.map { String($0) } ?? "-")
        for (key, value) in query.labels.sorted(by: { $0.key < $1.key }) { parts += [key, value] }
        return PageTokenText.fingerprint(parts)
    }
}
