import TaskGateAPI
import TaskScheduler

/// The core's terms to and from the wire's: the core names its own values, the gateway spells them.
extension CancelConfirm {
    /// The core's confirm for a wire confirm.
    init(_ wire: WireCancelConfirm) {
        switch wire {
        case .canceled: self = .canceled
        case .cancelNotFound: self = .cancelNotFound
        case .cancelFailed: self = .cancelFailed
        }
    }

    /// The wire spelling.
    var wire: WireCancelConfirm {
        switch self {
        case .canceled: .canceled
        case .cancelNotFound: .cancelNotFound
        case .cancelFailed: .cancelFailed
        }
    }
}

extension SchedulerError.Field {
    /// The field's name in request bodies.
    var wireName: String {
        switch self {
        case .function: "function"
        case .priority: "priority"
        case .timeout: "timeout_s"
        case .maxRetries: "max_retries"
        case .tags: "tags"
        case .idempotencyKey: "idempotency_key"
        case .callbackURL: "callback_url"
        case .capacity: "capacity"
        case .functions: "functions"
        case .lease: "lease_s"
        case .name: "name"
        }
    }
}

extension TaskFailure {
    /// The problem type URI of the failure (relative, resolved against the server).
    var typeURI: String { "/problems/\(code.rawValue)" }
}
