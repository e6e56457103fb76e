/// One shared indicator column: written once by the engine that made it, then only
/// read (by any number of engines, on any thread).
final class SharedColumn: @unchecked Sendable {
    let values: UnsafeMutablePointer<Double>
    let count: Int

    init(count: Int) {
        self.count = count
        values = .allocate(capacity: max(count, 1))
        values.initialize(repeating: .nan, count: max(count, 1))
    }

    deinit {
        values.deinitialize(count: max(count, 1))
        values.deallocate()
    }
}
