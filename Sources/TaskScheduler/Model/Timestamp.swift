import TaskGateSupport

/// A point in time as nanoseconds since the Unix epoch. Scheduler clocks produce it; it orders deadlines.
public struct Timestamp: Hashable, Comparable, Sendable, CustomStringConvertible {
    /// Nanoseconds since 1970-01-01T00:00:00Z.
    public var nanoseconds: Int64

    /// Wraps a nanosecond count.
    public init(nanoseconds: Int64) {
        self.nanoseconds = nanoseconds
    }

    /// The earliest representable time.
    public static let distantPast = Timestamp(nanoseconds: .min)
    /// The latest representable time.
    public static let distantFuture = Timestamp(nanoseconds: .max)

    /// Seconds since the epoch, for display.
    public var secondsSinceEpoch: Double { Double(nanoseconds) / 1e9 }

    /// The time `duration` later, saturating at the ends of the range.
    public static func + (lhs: Timestamp, rhs: Duration) -> Timestamp {
        let (sum, overflow) = lhs.nanoseconds.addingReportingOverflow(rhs.nanoseconds)
        if overflow { return rhs > .zero ? .distantFuture : .distantPast }
        return Timestamp(nanoseconds: sum)
    }

    /// The duration from `lhs` back to `rhs` (positive when `lhs` is later).
    public static func - (lhs: Timestamp, rhs: Timestamp) -> Duration {
        .nanoseconds(lhs.nanoseconds &- rhs.nanoseconds)
    }

    /// Orders by time.
    public static func < (lhs: Timestamp, rhs: Timestamp) -> Bool { lhs.nanoseconds < rhs.nanoseconds }

    /// Seconds since the epoch with nanosecond digits.
    public var description: String { "\(secondsSinceEpoch)" }
}
