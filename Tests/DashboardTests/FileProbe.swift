import Foundation

/// Whether a file exists, for tests whose expectation depends on the build machine.
enum FileProbe {
    static func exists(_ path: String) -> Bool { FileManager.default.fileExists(atPath: path) }
}
