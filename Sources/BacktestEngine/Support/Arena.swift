/// Memory for indicator ring buffers and history: a few blocks owned by one engine and
/// freed with it, so the per-bar loop touches raw pointers and never allocates or
/// reference-counts.
final class Arena {
    private var blocks: [(pointer: UnsafeMutablePointer<Double>, count: Int)] = []

    init() {}

    /// `count` doubles, every one NaN (the value of a bar not yet seen).
    func allocate(_ count: Int) -> UnsafeMutablePointer<Double> {
        let n = max(count, 1)
        let p = UnsafeMutablePointer<Double>.allocate(capacity: n)
        p.initialize(repeating: .nan, count: n)
        blocks.append((p, n))
        return p
    }

    deinit {
        for block in blocks {
            block.pointer.deinitialize(count: block.count)
            block.pointer.deallocate()
        }
    }
}

/// A fixed array of plain values behind one pointer, freed with its owner.
final class Pool<Element> {
    let base: UnsafeMutablePointer<Element>
    let count: Int

    init(_ items: [Element]) {
        count = items.count
        base = UnsafeMutablePointer<Element>.allocate(capacity: max(items.count, 1))
        _ = UnsafeMutableBufferPointer(start: base, count: items.count).initialize(from: items)
    }

    deinit {
        base.deinitialize(count: count)
        base.deallocate()
    }
}

/// The smallest power of two >= n (n >= 1).
@inline(__always)
func ringCapacity(_ n: Int) -> Int {
    var c = 1
    while c < n { c <<= 1 }
    return c
}
