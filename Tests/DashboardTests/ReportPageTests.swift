import Dashboard
import Testing

@Suite struct ReportPageTests {
    @Test func inlinesEverythingItNeeds() {
        let html = ReportPage(title: "GOOG & co", dataJSON: #"{"session":{},"trades":[],"points":[]}"#).html()
        #expect(html.hasPrefix("<!doctype html>"))
        #expect(html.contains("<title>GOOG &amp; co</title>"))
        #expect(html.contains("window.BacktestView"), "view.js is inlined")
        #expect(html.contains("report-data"))
        // Nothing is fetched: no src or href attributes at all.
        #expect(!html.contains(" src="))
        #expect(!html.contains(" href="))
        if DashboardSite.hasChartLibrary { #expect(html.contains("Dygraph")) }
    }

    @Test func dataCannotEndItsScriptElement() {
        let hostile = #"{"session":{"sessionId":"</script><script>alert(1)</script>"},"trades":[],"points":[]}"#
        let html = ReportPage(title: "<b>x</b>", dataJSON: hostile).html()
        #expect(!html.contains("</script><script>alert"))
        #expect(html.contains(#"\u003c/script>\u003cscript>alert(1)\u003c/script>"#))
        #expect(html.contains("<title>&lt;b&gt;x&lt;/b&gt;</title>"))
        // Exactly the page's own four script elements close.
        #expect(html.components(separatedBy: "</script>").count == 5)
    }
}
