import TestSupport
import Testing

extension LocalCluster {
    /// Stops everything at once (`terminate`) and records as an issue every node that
    /// had ended unasked: a crashed node otherwise shows only as a call's "connection
    /// closed", its log gone with the cluster's directory.
    func end(sourceLocation: SourceLocation = #_sourceLocation) {
        terminate()
        for exit in unaskedExits { Issue.record("\(exit)", sourceLocation: sourceLocation) }
    }

    /// Runs a test's body; when it throws, the end of every node's log and the
    /// balancer's goes with the error (the cluster's directory is removed at its end).
    func explaining<T>(
        sourceLocation: SourceLocation = #_sourceLocation, _ body: () async throws -> T
    ) async throws -> T {
        do {
            return try await body()
        } catch {
            var text = "\(error)\n"
            for index in 0..<nodeCount {
                text += "--- node \(nodeID(index)) (port \(nodePort(index))), the end of its log:\n"
                text += node(index).log.lastLines(30) + "\n"
            }
            text += "--- the balancer (port \(lbPort)), the end of its log:\n" + balancer.log.lastLines(30) + "\n"
            Issue.record("\(text)", sourceLocation: sourceLocation)
            throw error
        }
    }
}
