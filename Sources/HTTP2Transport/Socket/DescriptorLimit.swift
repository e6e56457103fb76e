#if canImport(Glibc)
    import Glibc
#endif

/// The process's limit on open descriptors (RLIMIT_NOFILE). A server needs one per
/// connection; the usual soft limit, 1,024, is sized for interactive shells.
public enum DescriptorLimit {
    /// The soft and hard limits now.
    public static var current: (soft: Int, hard: Int) {
        var limit = rlimit()
        guard getrlimit(noFileResource, &limit) == 0 else { return (1024, 1024) }
        return (clamp(limit.rlim_cur), clamp(limit.rlim_max))
    }

    /// Raises the soft limit to the hard limit (what an unprivileged process may do)
    /// and returns the soft limit in force afterwards.
    @discardableResult
    public static func raiseSoftLimit() -> Int {
        var limit = rlimit()
        guard getrlimit(noFileResource, &limit) == 0 else { return current.soft }
        if limit.rlim_cur < limit.rlim_max {
            let wanted = limit.rlim_cur
            limit.rlim_cur = limit.rlim_max
            if setrlimit(noFileResource, &limit) != 0 {
                // An unlimited hard limit is capped by the kernel (fs.nr_open): ask for
                // a large finite one instead.
                limit.rlim_cur = max(wanted, min(limit.rlim_max, 1 << 20))
                _ = setrlimit(noFileResource, &limit)
            }
        }
        return current.soft
    }

    private static func clamp(_ value: rlim_t) -> Int { value > rlim_t(Int.max) ? Int.max : Int(value) }
}

private let noFileResource = __rlimit_resource_t(RLIMIT_NOFILE.rawValue)
