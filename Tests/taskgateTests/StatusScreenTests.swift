import Foundation
import TaskGateAPI
import Testing

@testable import taskgate

/// The status screen's content from given readings: rates between two readings, the tables, the cuts.
@Suite struct StatusScreenTests {
    static func stats(succeeded: Int, echoDone: Int, failures: String = "") -> WireStats {
        let json = """
            {"tasks":{"pending":3,"running":2,"canceling":0},"queued":3,"queue_limit":100,"workers":1,
             "remote_workers":1,"capacity":4,"load":2,"waiters":0,"parked_requests":0,"tombstones":0,
             "totals":{"succeeded":\(succeeded),"failed":1,"canceled":0},"event_streams":0,"callbacks_pending":0,
             "functions":[
               {"name":"echo","pending":3,"running":2,"canceling":0,"submitted":\(echoDone + 5),
                "succeeded":\(echoDone),"failed":0,"canceled":0},
               {"name":"idle","pending":0,"running":0,"canceling":0,"submitted":1,"succeeded":1,"failed":0,
                "canceled":0}],
             "recent_failures":[\(failures)]}
            """
        return try! JSONDecoder().decode(WireStats.self, from: Data(json.utf8))
    }

    static let worker = try! JSONDecoder().decode(
        WireWorker.self,
        from: Data(
            """
            {"id":"w7","name":"gpu-box","kind":"remote","functions":["echo","idle"],"capacity":4,"load":2,
             "draining":false,"lease_s":10,"max_wait_s":5,"registered_at":"2026-12-03T10:00:00Z",
             "last_seen_at":"2026-12-03T10:00:01Z"}
            """.utf8))

    @Test func ratesComeFromTwoReadingsAndTablesShowEachFunctionAndWorker() {
        let before = StatusScreen.Sample(
            stats: Self.stats(succeeded: 100, echoDone: 99), workers: [Self.worker], at: 10)
        let after = StatusScreen.Sample(
            stats: Self.stats(
                succeeded: 150, echoDone: 149,
                failures: #"{"id":"00000000000000aa","function":"echo","attempt":2,"code":"worker_died","#
                    + #""detail":"gone\nnow","finished_at":"2026-12-03T10:00:05.123Z"}"#), workers: [Self.worker],
            at: 12)
        let screen = StatusScreen(server: "http://x", current: after, previous: before, width: 120, rows: 40)
        #expect(screen.rate(nil) == 25 && screen.rate("echo") == 25 && screen.rate("idle") == 0)
        let text = screen.lines.joined(separator: "\n")
        #expect(text.contains("3 pending, 2 running") && text.contains("throughput 25.0/s"))
        #expect(text.contains("load 2/4 slots"))
        let echo = screen.lines.first { $0.hasPrefix("echo") } ?? ""
        #expect(echo.split(separator: " ") == ["echo", "3", "2", "154", "149", "0", "0", "25.0"])
        // The busiest function first.
        #expect(screen.lines.firstIndex { $0.hasPrefix("echo") }! < screen.lines.firstIndex { $0.hasPrefix("idle") }!)
        #expect(screen.lines.contains { $0.hasPrefix("w7") && $0.contains("gpu-box") && $0.contains("2/4") })
        #expect(screen.lines.contains { $0.contains("00000000000000aa  10:00:05  echo  worker_died  gone now") })
    }

    @Test func withoutAPreviousReadingThereAreNoRatesAndLinesAreCutToTheWidth() {
        let sample = StatusScreen.Sample(stats: Self.stats(succeeded: 1, echoDone: 1), workers: [], at: 1)
        let screen = StatusScreen(server: "http://x", current: sample, previous: nil, width: 30, rows: 40)
        #expect(screen.rate(nil) == nil)
        #expect(screen.lines.allSatisfy { $0.count <= 30 })
        #expect(screen.lines.contains("(no workers)") && screen.lines.contains("(none)"))
    }
}
