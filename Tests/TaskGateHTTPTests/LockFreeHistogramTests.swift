import Foundation
import Testing

@testable import TaskGateHTTP

/// The lock-free histogram behind the per-request and per-task metrics: bucket edges, the rendered text, and no
/// count lost when several threads record at once.
@Suite struct LockFreeHistogramTests {
    static func text(_ histogram: LockFreeHistogram) -> String {
        var buffer: [UInt8] = []
        histogram.render(into: &buffer)
        return String(decoding: buffer, as: UTF8.self)
    }

    @Test func aValueCountsInTheFirstBucketWhoseBoundIsAtLeastIt() {
        let histogram = LockFreeHistogram(
            name: "t_seconds", labels: [("route", "GET /x")], buckets: [.milliseconds(1), .milliseconds(10)])
        for value: Duration in [.zero, .milliseconds(1), .microseconds(1_001), .milliseconds(10), .seconds(2)] {
            histogram.record(value)
        }
        #expect(
            Self.text(histogram) == """
                t_seconds_bucket{route="GET /x",le="0.001"} 2
                t_seconds_bucket{route="GET /x",le="0.01"} 4
                t_seconds_bucket{route="GET /x",le="+Inf"} 5
                t_seconds_sum{route="GET /x"} 2.012001
                t_seconds_count{route="GET /x"} 5

                """)
        #expect(histogram.count == 5)
    }

    @Test func withoutLabelsTheSumAndCountHaveNoBraces() {
        let histogram = LockFreeHistogram(name: "t_seconds", buckets: [.seconds(1)])
        histogram.record(.milliseconds(250))
        let lines = Self.text(histogram).split(separator: "\n")
        #expect(
            lines == [
                #"t_seconds_bucket{le="1.0"} 1"#, #"t_seconds_bucket{le="+Inf"} 1"#, "t_seconds_sum 0.25",
                "t_seconds_count 1",
            ])
    }

    @Test func concurrentRecordsAreAllCounted() async {
        let histogram = LockFreeHistogram(name: "t_seconds", buckets: [.microseconds(10), .microseconds(100)])
        await withTaskGroup(of: Void.self) { group in
            for worker in 0..<4 {
                group.addTask {
                    for index in 0..<10_000 { histogram.record(.microseconds((index + worker) % 200)) }
                }
            }
        }
        #expect(histogram.count == 40_000)
        let text = Self.text(histogram)
        #expect(text.contains(#"t_seconds_bucket{le="+Inf"} 40000"#))
        #expect(text.contains("t_seconds_count 40000"))
    }
}
