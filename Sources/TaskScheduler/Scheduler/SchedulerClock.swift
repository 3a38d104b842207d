import Synchronization

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// The time source of a scheduler: deadlines, leases, long-poll timeouts and retention all read it.
public protocol SchedulerClock: Sendable {
    /// The current time.
    func now() -> Timestamp
}

/// Wall-clock time that never goes backwards: the real time read once at start, advanced by a monotonic clock.
public struct SystemClock: SchedulerClock {
    private let origin: Timestamp
    private let start: ContinuousClock.Instant

    /// Reads the wall clock once; later readings add monotonic elapsed time to it.
    public init() {
        var spec = timespec()
        clock_gettime(CLOCK_REALTIME, &spec)
        origin = Timestamp(nanoseconds: Int64(spec.tv_sec) * 1_000_000_000 + Int64(spec.tv_nsec))
        start = ContinuousClock.now
    }

    /// The current time.
    public func now() -> Timestamp {
        origin + (ContinuousClock.now - start)
    }
}

/// A clock that moves only when told to; tests drive deadlines with it instead of sleeping.
public final class ManualClock: SchedulerClock {
    private let current: Mutex<Timestamp>

    /// Starts at `start` (default: 2026-01-01T00:00:00Z).
    public init(start: Timestamp = Timestamp(nanoseconds: 1_767_225_600 * 1_000_000_000)) {
        current = Mutex(start)
    }

    /// The current time.
    public func now() -> Timestamp { current.withLock { $0 } }

    /// Moves time forward.
    public func advance(by duration: Duration) {
        current.withLock { $0 = $0 + duration }
    }
}
