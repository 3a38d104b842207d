import TaskGateSupport
import Testing

/// `Duration.nanoseconds`: exact within Int64, truncated toward zero below a nanosecond, saturating beyond.
@Suite struct DurationNanosecondsTests {
    @Test func shortAndLongDurationsConvertExactly() {
        #expect(Duration.zero.nanoseconds == 0)
        #expect(Duration.milliseconds(1_500).nanoseconds == 1_500_000_000)
        #expect(Duration.milliseconds(-1_500).nanoseconds == -1_500_000_000)
        // Past ±9.2 s the attoseconds no longer fit 64 bits.
        #expect(Duration.seconds(3_600).nanoseconds == 3_600_000_000_000)
        #expect(Duration.seconds(-3_600).nanoseconds == -3_600_000_000_000)
        #expect((Duration.seconds(10) + .nanoseconds(7)).nanoseconds == 10_000_000_007)
    }

    @Test func partsOfANanosecondAreTruncatedTowardZero() {
        let half = Duration(secondsComponent: 0, attosecondsComponent: 500_000_000)
        #expect((Duration.nanoseconds(1) + half).nanoseconds == 1)
        #expect((Duration.nanoseconds(-1) - half).nanoseconds == -1)
        #expect((Duration.seconds(20) + half).nanoseconds == 20_000_000_000)
    }

    @Test func beyondInt64ItSaturates() {
        #expect(Duration.seconds(Int64.max).nanoseconds == .max)
        #expect(Duration.seconds(Int64.min).nanoseconds == .min)
        #expect(Duration.seconds(9_223_372_037).nanoseconds == .max)
    }
}
