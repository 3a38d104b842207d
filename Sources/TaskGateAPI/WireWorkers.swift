/// The wire types of worker registration (`POST /workers`, `GET /workers/{id}`). The poll's body and answer are
/// written and read byte-exact by `TaskGateWorker` (`WorkerWire`), so they have no `Codable` mirror here.

/// `WorkerRegistration`: the body of `POST /workers`.
public struct WireWorkerRegistration: Codable, Sendable, Hashable {
    /// A human-readable name (shown in `GET /workers`).
    public var name: String
    /// The functions this worker runs.
    public var functions: [String]
    /// How many tasks it runs at once.
    public var capacity: Int
    /// How long it may go without polling before the server declares it dead; nil for the server's default.
    public var leaseSeconds: Double?

    /// A registration.
    public init(name: String, functions: [String], capacity: Int, leaseSeconds: Double? = nil) {
        self.name = name
        self.functions = functions
        self.capacity = capacity
        self.leaseSeconds = leaseSeconds
    }

    enum CodingKeys: String, CodingKey {
        case name, functions, capacity
        case leaseSeconds = "lease_s"
    }
}

/// `Worker`: a registered worker as the server reports it.
public struct WireWorker: Codable, Sendable, Hashable {
    public var id: String
    public var name: String
    /// `remote` or `in-process`.
    public var kind: String
    public var functions: [String]
    public var capacity: Int
    /// Tasks it holds now.
    public var load: Int
    public var draining: Bool
    /// Remote workers only.
    public var leaseSeconds: Double?
    /// The longest a poll of this worker may wait (half its lease); remote workers only.
    public var maxWaitSeconds: Double?
    public var registeredAt: String
    public var lastSeenAt: String
    /// The registration's secret, in the answer to `POST /workers` only: every poll and the leave of this worker
    /// must send it as `TaskGate-Worker-Secret`.
    public var secret: String?

    enum CodingKeys: String, CodingKey {
        case id, name, kind, functions, capacity, load, draining, secret
        case leaseSeconds = "lease_s"
        case maxWaitSeconds = "max_wait_s"
        case registeredAt = "registered_at"
        case lastSeenAt = "last_seen_at"
    }
}

/// The answer of `GET /workers`.
public struct WireWorkerList: Codable, Sendable, Hashable {
    public var workers: [WireWorker]
}
