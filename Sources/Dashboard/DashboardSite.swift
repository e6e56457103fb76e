import HTTP2Transport

/// The dashboard served at `/` on the RPC port: its page, script and styles embedded
/// in the binary, calling the service from the browser with the Connect protocol
/// (docs/DESIGN.md section 14).
public enum DashboardSite {
    /// No inline script and nothing from elsewhere: scripts, styles and calls come from
    /// the server itself. Style attributes are allowed because the chart library sets
    /// them in its legend; style elements are not.
    public static let contentSecurityPolicy =
        "default-src 'none'; script-src 'self'; style-src 'self'; style-src-attr 'unsafe-inline'; "
        + "connect-src 'self'; img-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

    public static func site() -> StaticSite {
        let html = "text/html; charset=utf-8"
        let js = "text/javascript; charset=utf-8"
        let css = "text/css; charset=utf-8"
        let index = StaticSite.File(contentType: html, body: PackageResources.index_html)
        let files: [String: StaticSite.File] = [
            "/": index,
            "/index.html": index,
            "/dashboard.js": .init(contentType: js, body: PackageResources.dashboard_js),
            "/api.js": .init(contentType: js, body: PackageResources.api_js),
            "/view.js": .init(contentType: js, body: PackageResources.view_js),
            "/dashboard.css": .init(contentType: css, body: PackageResources.dashboard_css),
            "/favicon.svg": .init(contentType: "image/svg+xml", body: PackageResources.favicon_svg),
            "/dygraph.min.js": .init(
                contentType: js, body: ChartLibrary.isAvailable ? ChartLibrary.script : ChartLibrary.missingScript),
            "/dygraph.min.css": .init(contentType: css, body: ChartLibrary.stylesheet),
        ]
        return StaticSite(
            files: files,
            headers: [
                ("content-security-policy", contentSecurityPolicy), ("x-content-type-options", "nosniff"),
                ("referrer-policy", "no-referrer"),
            ])
    }

    /// Sessions over more bars than this are drawn without them (view.js's MAX_BARS,
    /// which the page uses, is the same number): a page is not a data export.
    public static let maxBars: UInt64 = 500_000

    /// Whether the chart library was embedded (the page works without it, minus charts).
    public static var hasChartLibrary: Bool { ChartLibrary.isAvailable }
}
