import TaskGateStore

/// Where answers wait for the store: an answer reporting change N is sent only once change N is committed, and,
/// while the store fails for longer than `timeout`, becomes 503 `not_stored` instead.
///
/// The HTTP server's event loop parks such answers itself (`StoreWaits`), woken once per commit; without the loop
/// (libmicrohttpd's own threads, the in-memory client) `complete` waits through the store's per-answer callback.
public final class StoreGate: Sendable {
    /// The store.
    public let store: TaskStore
    /// How long an answer waits while the store fails.
    public let timeout: Duration

    /// A gate on `store`.
    public init(store: TaskStore, timeout: Duration) {
        self.store = store
        self.timeout = timeout
    }

    /// The number of the last change committed.
    var committed: UInt64 { store.committed }

    /// Whether commits are failing right now.
    var isFailing: Bool { store.isFailing }

    /// What an answer that waited past `timeout` gets while the store fails (nil while it is healthy).
    func failureAnswer(instance: String) -> HTTPResponse? {
        store.failure.map { Problem.notStored($0).response(instance: instance) }
    }

    /// What an answer still waiting when the server stops gets.
    static func closedAnswer(instance: String) -> HTTPResponse {
        Problem.notStored(StoreError(.io, "the server stopped before this change was stored")).response(
            instance: instance)
    }

    /// Completes `responder` with the waiting answer once it is stored (or with the failure past `timeout`).
    public func complete(_ responder: Responder, with wait: StoreWait) {
        store.whenCommitted(wait.response.storeSeq, timeout: timeout) { outcome in
            switch outcome {
            case .success: responder.complete(wait.response)
            case .failure(let error): responder.complete(Problem.notStored(error).response(instance: wait.instance))
            }
        }
    }
}

/// An answer that may be sent only once the store has committed the change it reports (`response.storeSeq`).
public struct StoreWait: Sendable {
    /// The answer.
    public var response: HTTPResponse
    /// The request's path (the `instance` of a failure's problem).
    public var instance: String
    /// Where it waits.
    public let gate: StoreGate
}
