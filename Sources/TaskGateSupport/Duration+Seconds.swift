/// The package's one conversion between `Duration` and the seconds and nanoseconds the wire and the clocks use
/// (`package`: no public extension on the standard library's type).
extension Duration {
    /// The duration as whole nanoseconds, saturating at the ends of `Int64`.
    package var nanoseconds: Int64 {
        // `components` divides the 128-bit attoseconds by 10^18; within ±9.2 s a 64-bit division does.
        let attoseconds = self.attoseconds
        if let small = Int64(exactly: attoseconds) { return small / 1_000_000_000 }
        return Int64(clamping: attoseconds / 1_000_000_000)
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
