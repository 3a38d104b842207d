// The client benchmark (issue 4): the workload measured on Scaler, Celery and Dask, through TaskGateClient against a
// running taskgate server. `scripts/bench-client.sh` starts the server and runs this.
//
//   taskgate-bench-client URL [RUNS] [SECTIONS] [CANCEL_FUNCTION]
//     (a) 10,000 echo tasks: map (POST /tasks/batch) then gather; tasks/s end to end, per run and median
//     (b) 500 sequential submit-then-result round trips: p50 and p99
//     (c) cancel of a running CANCEL_FUNCTION (default sleep, args {"seconds": 60}): time from cancel() to the
//         confirmed answer, 20 times: median and max
//   SECTIONS picks some of them (default abc). `scripts/bench-workers.sh` runs it against remote workers.

import Foundation
import TaskGateAPI
import TaskGateClient

let arguments = CommandLine.arguments
guard arguments.count >= 2 else {
    print("usage: taskgate-bench-client URL [RUNS]")
    exit(2)
}
let runs = arguments.count > 2 ? Int(arguments[2]) ?? 5 : 5
let sections = arguments.count > 3 ? arguments[3] : "abdc"
let cancelFunction = arguments.count > 4 ? arguments[4] : "sleep"
var configuration = TaskGateClient.Configuration(baseURL: arguments[1])
let environment = ProcessInfo.processInfo.environment
if let value = environment["BENCH_BATCH"].flatMap(Int.init) { configuration.batchSize = value }
if let value = environment["BENCH_INFLIGHT"].flatMap(Int.init) { configuration.batchConcurrency = value }
if let value = environment["BENCH_SUBMIT_WAIT_MS"].flatMap(Int.init) { configuration.submitWait = .milliseconds(value) }
if let value = environment["BENCH_CONNECTIONS"].flatMap(Int.init) { configuration.maxConnections = value }
if let value = environment["BENCH_DIRECT"].flatMap(Int.init) { configuration.maxDirectSubmits = value }
if let value = environment["BENCH_POLLS"].flatMap(Int.init) { configuration.maxPollConnections = value }
let client = TaskGateClient(configuration: configuration)

func median(_ values: [Double]) -> Double {
    let sorted = values.sorted()
    return sorted.count % 2 == 1
        ? sorted[sorted.count / 2] : (sorted[sorted.count / 2 - 1] + sorted[sorted.count / 2]) / 2
}

func percentile(_ values: [Double], _ p: Double) -> Double {
    let sorted = values.sorted()
    return sorted[min(sorted.count - 1, Int((Double(sorted.count) * p).rounded(.up)) - 1)]
}

func milliseconds(_ duration: Duration) -> Double {
    Double(duration.components.seconds) * 1e3 + Double(duration.components.attoseconds) / 1e15
}

let clock = ContinuousClock()

// Warm-up: connections, code paths.
_ = try await client.gather(try await client.map(function: "echo", (0..<2_000).map { JSONValue.integer(Int64($0)) }))

print("(a) 10,000 echo tasks, map + gather")
var rates: [Double] = []
for run in 1...runs where sections.contains("a") {
    let args = (0..<10_000).map { JSONValue.object(["i": .integer(Int64($0))]) }
    let start = clock.now
    let futures = try await client.map(function: "echo", args)
    let mapped = clock.now - start
    let results = try await client.gather(futures)
    let elapsed = clock.now - start
    if environment["BENCH_PHASES"] != nil { print("  map \(mapped)") }
    precondition(results == args, "echo returned something else")
    let rate = 10_000 / (milliseconds(elapsed) / 1e3)
    rates.append(rate)
    print("  run \(run): \(Int(rate)) tasks/s (\(String(format: "%.1f", milliseconds(elapsed))) ms)")
}
if !rates.isEmpty { print("  median \(Int(median(rates))) tasks/s") }

print("(b) 500 sequential submit-then-result round trips")
var p50s: [Double] = []
var p99s: [Double] = []
for run in 1...runs where sections.contains("b") {
    var trips: [Double] = []
    for index in 0..<500 {
        let start = clock.now
        let future = try await client.submit(function: "echo", args: .integer(Int64(index)))
        let result = try await future.result()
        trips.append(milliseconds(clock.now - start))
        precondition(result == .integer(Int64(index)))
    }
    p50s.append(percentile(trips, 0.5))
    p99s.append(percentile(trips, 0.99))
    print("  run \(run): p50 \(String(format: "%.3f", p50s.last!)) ms, p99 \(String(format: "%.3f", p99s.last!)) ms")
}
if !p50s.isEmpty {
    print(
        "  median p50 \(String(format: "%.3f", median(p50s))) ms, median p99 \(String(format: "%.3f", median(p99s))) ms"
    )
}

print("(d) 10,000 echo tasks, one submit call each from 64 concurrent Swift tasks, then gather")
var concurrentRates: [Double] = []
for run in 1...runs where sections.contains("d") {
    let start = clock.now
    let futures = try await withThrowingTaskGroup(of: [TaskFuture].self) { group in
        for lane in 0..<64 {
            group.addTask {
                var futures: [TaskFuture] = []
                for index in stride(from: lane, to: 10_000, by: 64) {
                    futures.append(try await client.submit(function: "echo", args: .integer(Int64(index))))
                }
                return futures
            }
        }
        var all: [TaskFuture] = []
        for try await lane in group { all.append(contentsOf: lane) }
        return all
    }
    let results = try await client.gather(futures)
    let elapsed = clock.now - start
    precondition(results.count == 10_000, "some tasks are missing")
    let rate = 10_000 / (milliseconds(elapsed) / 1e3)
    concurrentRates.append(rate)
    print("  run \(run): \(Int(rate)) tasks/s (\(String(format: "%.1f", milliseconds(elapsed))) ms)")
}
if !concurrentRates.isEmpty { print("  median \(Int(median(concurrentRates))) tasks/s") }

print("(c) cancel of a running \(cancelFunction): cancel() until confirmed")
var cancels: [Double] = []
for _ in 0..<(sections.contains("c") ? 20 : 0) {
    let future = try await client.submit(function: cancelFunction, args: ["seconds": 60])
    while try await client.task(future.id).state != .running {}
    let start = clock.now
    let cancelled = try await future.cancel()
    cancels.append(milliseconds(clock.now - start))
    precondition(cancelled && future.isCancelled, "the cancel was not confirmed")
}
if !cancels.isEmpty {
    print(
        "  median \(String(format: "%.3f", median(cancels))) ms, max \(String(format: "%.3f", cancels.max()!)) ms"
            + " (20 cancels)")
}

try await client.shutdown()
