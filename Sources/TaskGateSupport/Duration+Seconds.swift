/// The package's one conversion between `Duration` and the seconds and nanoseconds the wire and the clocks use
/// (`package`: no public extension on the standard library's type).
extension Duration {
    /// The duration as whole nanoseconds, saturating at the ends of `Int64`.
    package var nanoseconds: Int64 {
        let (seconds, attoseconds) = components
        let (scaled, overflow) = seconds.multipliedReportingOverflow(by: 1_000_000_000)
        if overflow { return seconds > 0 ? .max : .min }
        let (sum, overflow2) = scaled.addingReportingOverflow(attoseconds / 1_000_000_000)
        if overflow2 { return seconds > 0 ? .max : .min }
        return sum
    }

    /// The duration as fractional seconds.
    package var seconds: Double { Double(nanoseconds) / 1e9 }

    /// A duration of `seconds` (finite, non-negative), capped at `limit` so huge inputs cannot overflow; zero for
    /// anything else.
    package static func seconds(_ seconds: Double, atMost limit: Duration) -> Duration {
        guard seconds.isFinite, seconds > 0 else { return .zero }
        guard seconds < limit.seconds else { return limit }
        return .nanoseconds(Int64(seconds * 1e9))
    }
}
