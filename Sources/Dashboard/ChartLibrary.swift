internal import CDygraphs

/// Debian's dygraphs (libjs-dygraphs), embedded when the binary was built (CDygraphs):
/// a charting library made for time series, used by the dashboard and the report.
enum ChartLibrary {
    static let script: [UInt8] = bytes(cdygraphs_script)
    static let stylesheet: [UInt8] = bytes(cdygraphs_stylesheet)

    /// False when the build machine lacked the package: pages then say so.
    static var isAvailable: Bool { !script.isEmpty }

    /// What the page loads in the library's place when it is missing: a comment, so
    /// the page's own check (`typeof Dygraph`) reports it instead of a failed request.
    static let missingScript = Array("/* libjs-dygraphs was not installed when this binary was built */\n".utf8)

    private static func bytes(_ accessor: (UnsafeMutablePointer<Int>) -> UnsafePointer<UInt8>?) -> [UInt8] {
        var size = 0
        guard let start = accessor(&size), size > 0 else { return [] }
        return Array(UnsafeBufferPointer(start: start, count: size))
    }
}
