import Testing

@testable import TaskGateAPI

/// Durations written as seconds without `Double`: every digit kept, trailing zeros dropped, valid JSON numbers.
@Suite struct JSONWriterSecondsTests {
    @Test(arguments: [
        (Int64(0), "0"), (1, "0.000000001"), (123_000, "0.000123"), (2_500_000_000, "2.5"), (3_000_000_000, "3"),
        (86_400_123_456_789, "86400.123456789"), (-1_500_000_000, "-1.5"),
    ])
    func secondsAreWrittenExactly(nanoseconds: Int64, expected: String) throws {
        var writer = JSONWriter()
        writer.seconds(nanoseconds: nanoseconds)
        let text = String(decoding: writer.bytes, as: UTF8.self)
        #expect(text == expected)
        #expect(Double(text)! == Double(nanoseconds) / 1e9)
    }
}
