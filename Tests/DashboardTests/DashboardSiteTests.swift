import Dashboard
import HTTP2Transport
import Testing

@Suite struct DashboardSiteTests {
    let site = DashboardSite.site()

    @Test func servesThePageAndItsAssets() throws {
        for path in ["/", "/index.html", "/dashboard.js", "/api.js", "/view.js", "/dashboard.css", "/dygraph.min.js"] {
            let file = try #require(site.files[path], "\(path) is missing")
            #expect(!file.body.isEmpty, "\(path) is empty")
        }
        #expect(site.files["/"]?.contentType == "text/html; charset=utf-8")
        #expect(site.files["/dashboard.js"]?.contentType == "text/javascript; charset=utf-8")
        #expect(site.files["/dashboard.css"]?.contentType == "text/css; charset=utf-8")
    }

    @Test func everyScriptIsAFileOfTheSite() throws {
        let html = String(decoding: try #require(site.files["/"]).body, as: UTF8.self)
        // The CSP forbids inline scripts: every <script> must name a file served here.
        var rest = html[...]
        var scripts = 0
        while let open = rest.firstRange(of: "<script") {
            let tagEnd = try #require(rest[open.upperBound...].firstIndex(of: ">"))
            let tag = rest[open.lowerBound...tagEnd]
            let src = try #require(tag.firstRange(of: "src=\"/"), "inline script: \(tag)")
            let name = tag[tag.index(before: src.upperBound)...].prefix { $0 != "\"" }
            #expect(site.files[String(name)] != nil, "\(name) is not served")
            #expect(rest[tagEnd...].hasPrefix("></script>"), "a script element with content: \(tag)")
            scripts += 1
            rest = rest[tagEnd...]
        }
        #expect(scripts == 3)
    }

    @Test func sendsAStrictContentSecurityPolicy() throws {
        let csp = try #require(site.headers.first { $0.0 == "content-security-policy" }?.1)
        #expect(csp.contains("default-src 'none'"))
        #expect(csp.contains("script-src 'self';"))
        #expect(csp.contains("connect-src 'self'"))
        #expect(!csp.contains("unsafe-eval"))
        #expect(!csp.contains("script-src 'self' 'unsafe-inline'"))
        #expect(site.headers.contains { $0 == ("x-content-type-options", "nosniff") })
    }

    @Test func embedsDebiansChartLibraryWhenInstalled() throws {
        let installed = FileProbe.exists("/usr/share/javascript/dygraphs/dygraph.min.js")
        #expect(DashboardSite.hasChartLibrary == installed)
        let script = String(decoding: try #require(site.files["/dygraph.min.js"]).body, as: UTF8.self)
        #expect(script.contains("Dygraph") == installed)
    }
}
