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
}
