import Foundation

/// What the store's page tokens share: text behind a version prefix, base64url without
/// padding (opaque to clients), and an FNV-1a fingerprint of what defines the listing,
/// so that a token is refused by any other listing.
enum PageTokenText {
    static func encode(_ text: String) -> String {
        Data(text.utf8).base64EncodedString()
            .replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }

    /// The text after `prefix`; `StoreError.badPageToken` when it is not a token of ours.
    static func decode(_ token: String, prefix: String) throws(StoreError) -> Substring {
        var base64 = token.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        while base64.count % 4 != 0 { base64 += "=" }
        guard let data = Data(base64Encoded: base64), let text = String(data: data, encoding: .utf8),
            text.hasPrefix(prefix)
        else {
            throw notOurs(token)
        }
        return text.dropFirst(prefix.count)
    }

    static func notOurs(_ token: String) -> StoreError {
        StoreError.badPageToken("\"\(token.prefix(64))\" is not a page token of this service")
    }

    /// FNV-1a over `parts`, each followed by a separator byte (so "ab","c" and "a","bc"
    /// differ).
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
