import Synchronization

/// The events a watch delivered, readable while it goes on.
final class EventLog<Event: Sendable>: Sendable {
    private let list = Mutex<[Event]>([])

    func append(_ e: Event) { list.withLock { $0.append(e) } }
    var events: [Event] { list.withLock { $0 } }
}
