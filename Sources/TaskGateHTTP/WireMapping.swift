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
