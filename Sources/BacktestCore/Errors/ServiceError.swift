import BacktestStore

/// Why the service refused or could not do something, in its own terms: what kind
/// of failure, the request field at fault (its path in the contract, when one is),
/// what was wrong, and the underlying error. The protocol layer turns the kind into
/// a status code, once, for every transport.
public struct ServiceError: Error, Sendable, CustomStringConvertible {
    public enum Kind: Sendable, Equatable {
        /// The request is wrong; `field` says where.
        case invalidArgument
        case notFound
        /// The same client request id names a different request.
        case alreadyExists
        /// The request is well formed but the stored state cannot serve it (no data).
        case failedPrecondition
        /// Too much work already; retry later.
        case resourceExhausted
        /// The store (or the server, shutting down) cannot serve now; retry later.
        case unavailable
        case `internal`
        /// Something this server (its store) does not do.
        case unimplemented
    }

    public var kind: Kind
    /// The request field at fault, as a contract path (`costs.commission_rate`).
    public var field: String?
    /// What was wrong, without the field.
    public var reason: String
    public var cause: (any Error)?

    public init(_ kind: Kind, field: String? = nil, _ reason: String, cause: (any Error)? = nil) {
        self.kind = kind
        self.field = field
        self.reason = reason
        self.cause = cause
    }

    /// The text a client reads: the field first, so it can tell which input to fix.
    public var message: String { field.map { "\($0): \(reason)" } ?? reason }
    public var description: String { "\(kind): \(message)" }

    public static func invalid(_ field: String, _ reason: String) -> ServiceError {
        ServiceError(.invalidArgument, field: field, reason)
    }

    public static func noSession(_ id: String) -> ServiceError {
        ServiceError(.notFound, field: "session_id", "no session \"\(id)\"")
    }

    /// A store failure as the service reports it: a refusal names its cause,
    /// anything else means the store cannot serve now.
    public static func store(_ error: any Error) -> ServiceError {
        if let e = error as? ServiceError { return e }
        guard let e = error as? StoreError else { return ServiceError(.unavailable, "\(error)", cause: error) }
        switch e {
        case .invalid(let m): return ServiceError(.invalidArgument, m, cause: e)
        case .conflict(let m): return ServiceError(.alreadyExists, m, cause: e)
        case .badPageToken(let m): return ServiceError(.invalidArgument, field: "page_token", m, cause: e)
        case .unsupported(let m): return ServiceError(.unimplemented, m, cause: e)
        case .unavailable, .failed: return ServiceError(.unavailable, e.description, cause: e)
        }
    }

    /// Runs a store call, reporting its failure as a ServiceError.
    nonisolated(nonsending) public static func storeCall<T>(_ body: () async throws -> T) async throws(ServiceError)
        -> T
    {
        do {
            return try await body()
        } catch {
            throw store(error)
        }
    }
}
