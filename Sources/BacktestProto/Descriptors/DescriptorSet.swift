internal import BacktestProtoC

/// The compiled descriptors of proto/ and its imports, embedded at build time
/// (tools/generate.sh), for server reflection.
public enum DescriptorSet {
    /// The serialized google.protobuf.FileDescriptorSet.
    public static var serialized: [UInt8] {
        Array(UnsafeBufferPointer(start: backtest_descriptor_set(), count: backtest_descriptor_set_size))
    }

    /// Every file name in the set, in dependency order.
    public static var fileNames: [String] {
        (0..<backtest_descriptor_file_count).map { String(cString: files[$0].name) }
    }

    /// The serialized FileDescriptorProto of `name` and of everything it imports,
    /// transitively, the file itself first; nil for an unknown file.
    public static func fileWithDependencies(_ name: String) -> [[UInt8]]? {
        guard let first = index(ofFile: name) else { return nil }
        var order: [Int] = []
        var seen: Set<Int> = []
        var stack = [first]
        while let i = stack.popLast() {
            guard seen.insert(i).inserted else { continue }
            order.append(i)
            let f = files[i]
            for d in 0..<f.dependency_count {
                if let j = index(ofFile: String(cString: f.dependencies[d]!)) { stack.append(j) }
            }
        }
        return order.map { i in Array(UnsafeBufferPointer(start: files[i].data, count: files[i].size)) }
    }

    /// The file that defines a fully qualified service, method, message or enum.
    public static func fileName(containingSymbol symbol: String) -> String? {
        // Binary search: the generated index is sorted by symbol (byte order).
        var lo = 0, hi = backtest_descriptor_symbol_count
        let key = Array(symbol.utf8)
        while lo < hi {
            let mid = (lo + hi) / 2
            let entry = symbols[mid]
            let name = Array(String(cString: entry.symbol).utf8)
            if name == key { return String(cString: files[entry.file].name) }
            if name.lexicographicallyPrecedes(key) { lo = mid + 1 } else { hi = mid }
        }
        return nil
    }

    private static var files: UnsafePointer<backtest_descriptor_file> { backtest_descriptor_files() }

    private static var symbols: UnsafePointer<backtest_descriptor_symbol> { backtest_descriptor_symbols() }

    private static func index(ofFile name: String) -> Int? {
        (0..<backtest_descriptor_file_count).first { String(cString: files[$0].name) == name }
    }
}
