/// Files served to plain GET requests on the RPC port: a browser page (the
/// dashboard) and its assets, held in memory (embedded in the binary by whoever
/// builds the site). Paths not in it answer 404; RPCs are unaffected (they are POSTs).
public struct StaticSite: Sendable {
    public struct File: Sendable {
        public var contentType: String
        public var body: [UInt8]

        public init(contentType: String, body: [UInt8]) {
            self.contentType = contentType
            self.body = body
        }
    }

    /// By absolute path (`/`, `/app.js`); a request's query string is ignored.
    public var files: [String: File]
    /// Sent with every file (a Content-Security-Policy, say).
    public var headers: [(String, String)]

    public init(files: [String: File], headers: [(String, String)] = []) {
        self.files = files
        self.headers = headers
    }

    /// The file a request's `:path` names.
    func file(for path: String) -> File? {
        let end = path.firstIndex(where: { $0 == "?" || $0 == "#" }) ?? path.endIndex
        return files[String(path[..<end])]
    }
}
