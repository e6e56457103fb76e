/// `backtest report`'s file: one self-contained HTML page (no network) with the chart
/// library, the dashboard's drawing code (view.js) and the session's data inlined, so
/// it opens offline and can be attached to a ticket.
public struct ReportPage: Sendable {
    /// The page's title.
    public var title: String
    /// `{"session": Session, "trades": [Trade], "points": [EquityPoint]}` in proto3
    /// JSON: what the dashboard reads from the API.
    public var dataJSON: String

    public init(title: String, dataJSON: String) {
        self.title = title
        self.dataJSON = dataJSON
    }

    public func html() -> String {
        let library = ChartLibrary.isAvailable ? ChartLibrary.script : ChartLibrary.missingScript
        return """
            <!doctype html>
            <html lang="en">
            <head>
            <meta charset="utf-8">
            <meta name="viewport" content="width=device-width, initial-scale=1">
            <meta http-equiv="Content-Security-Policy" content="\(Self.contentSecurityPolicy)">
            <title>\(Self.escapeHTML(title))</title>
            <style>\(Self.text(ChartLibrary.stylesheet))</style>
            <style>\(Self.text(PackageResources.dashboard_css))</style>
            </head>
            <body>
            <header><h1>\(Self.escapeHTML(title))</h1></header>
            <main id="report"></main>
            <script type="application/json" id="report-data">\(Self.jsonSafe(dataJSON))</script>
            <script>\(Self.scriptSafe(Self.text(library)))</script>
            <script>\(Self.scriptSafe(Self.text(PackageResources.view_js)))</script>
            <script>\(Self.scriptSafe(Self.text(PackageResources.report_js)))</script>
            </body>
            </html>

            """
    }

    /// The file may do nothing over the network: only its own inline scripts and styles.
    static let contentSecurityPolicy =
        "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; img-src data:"

    static func text(_ bytes: [UInt8]) -> String { String(decoding: bytes, as: UTF8.self) }

    static func escapeHTML(_ s: String) -> String {
        var out = ""
        for c in s {
            switch c {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&#39;"
            default: out.append(c)
            }
        }
        return out
    }

    /// A script element's text ends at the first `</script`, whatever the quotes around
    /// it. In JSON `<` can only be inside a string, where `\u003c` means the same.
    static func jsonSafe(_ json: String) -> String {
        json.replacing("<", with: "\\u003c")
    }

    /// In JavaScript `</script` can only be inside a string, a regular expression or a
    /// comment, where `<\/script` means the same.
    static func scriptSafe(_ code: String) -> String {
        var out = ""
        var rest = code[...]
        while let range = rest.firstRange(of: "</") {
            out += rest[..<range.lowerBound]
            rest = rest[range.upperBound...]
            out += rest.prefix(6).lowercased() == "script" ? "<\\/" : "</"
        }
        return out + rest
    }
}
