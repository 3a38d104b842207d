// In-process benchmark of the scheduler core, no HTTP (issue 2):
//   throughput: submit N `echo` tasks with small payloads to 2 in-process slots and wait for all; tasks/s.
//   memory:     finish N `echo` tasks and hold them; RSS growth per retained task beyond its payload.
//   core:       diagnostic: the core value alone on one thread, no locks; ns per submit and per exchange.
//   drain:      diagnostic: queue N tasks first, then time only the slots draining them.
// Usage: taskgate-bench-core throughput [tasks] [slots] [runs] [tasks per submit call]
//        taskgate-bench-core memory [tasks]
//        taskgate-bench-core core [tasks] | drain [tasks] [slots]
import Logging
import TaskGateFunctions
import TaskScheduler

#if canImport(Glibc)
    import Glibc
#endif

let logger = Logger(label: "bench") { _ in SwiftLogNoOpLogHandler() }
let arguments = CommandLine.arguments.dropFirst()
let mode = arguments.first ?? "throughput"
let numbers = arguments.dropFirst().compactMap { Int($0) }

func residentBytes() -> Int {
    guard let file = fopen("/proc/self/statm", "r") else { return 0 }
    defer { fclose(file) }
    var size = 0
    var resident = 0
    _ = withUnsafeMutablePointer(to: &size) { sizePointer in
        withUnsafeMutablePointer(to: &resident) { residentPointer in
            withVaList([sizePointer, residentPointer]) { vfscanf(file, "%ld %ld", $0) }
        }
    }
    return resident * Int(sysconf(Int32(_SC_PAGESIZE)))
}

func makeScheduler(tasks: Int, slots: Int) throws -> (Scheduler, InProcessWorkerPool) {
    var configuration = SchedulerConfiguration()
    configuration.queueLimit = tasks + 1
    configuration.maxRetainedTasks = tasks + 1
    let scheduler = Scheduler(configuration: configuration, logger: logger)
    let pool = InProcessWorkerPool(
        scheduler: scheduler, registry: Builtins.registry, configuration: .init(slots: slots), logger: logger)
    try pool.start()
    return (scheduler, pool)
}

nonisolated(unsafe) var submitSeconds = 0.0

/// Submits `count` echo tasks (one call each, or `batch` per call) and waits for each; returns seconds taken.
func submitAndWait(_ scheduler: Scheduler, count: Int, batch: Int = 1) async throws -> Double {
    let requests = (0..<count).map { SubmitRequest(function: "echo", args: Payload(json: "{\"i\":\($0)}")) }
    let clock = ContinuousClock()
    let start = clock.now
    var ids: [TaskID] = []
    ids.reserveCapacity(count)
    if batch == 1 {
        for request in requests { ids.append(try scheduler.submit(request).taskID) }
    } else {
        for offset in stride(from: 0, to: count, by: batch) {
            let chunk = Array(requests[offset..<min(offset + batch, count)])
            ids.append(contentsOf: try scheduler.submitBatch(chunk).map(\.taskID))
        }
    }
    submitSeconds = (clock.now - start).seconds
    // Wait as a client gathering futures does: one wait for all of each chunk of 1,000 ids.
    for offset in stride(from: 0, to: ids.count, by: 1000) {
        let chunk = Array(ids[offset..<min(offset + 1000, ids.count)])
        let lookups = await scheduler.wait(for: chunk, mode: .all, timeout: .seconds(120))
        guard lookups.allSatisfy({ $0.record?.state == .succeeded }) else { fatalError("a task did not succeed") }
    }
    return (clock.now - start).seconds
}

func median(_ values: [Double]) -> Double {
    let sorted = values.sorted()
    return sorted.count % 2 == 1
        ? sorted[sorted.count / 2] : (sorted[sorted.count / 2 - 1] + sorted[sorted.count / 2]) / 2
}

switch mode {
case "throughput":
    let tasks = numbers.count > 0 ? numbers[0] : 100_000
    let slots = numbers.count > 1 ? numbers[1] : 2
    let runs = numbers.count > 2 ? numbers[2] : 5
    let batch = numbers.count > 3 ? numbers[3] : 1
    var rates: [Double] = []
    for run in 1...runs {
        let (scheduler, pool) = try makeScheduler(tasks: tasks, slots: slots)
        let seconds = try await submitAndWait(scheduler, count: tasks, batch: batch)
        let rate = Double(tasks) / seconds
        rates.append(rate)
        print(
            "run \(run): \(tasks) echo tasks, \(slots) slots, \(batch) per submit: \(String(format: "%.3f", seconds)) s, \(Int(rate)) tasks/s (submitting took \(String(format: "%.3f", submitSeconds)) s)"
        )
        await pool.stop()
    }
    print(
        "median: \(Int(median(rates))) tasks/s over \(runs) runs (min \(Int(rates.min()!)), max \(Int(rates.max()!)))")
case "core":
    // Experiment: the core value alone, one thread, no locks: submit, take, report per task.
    let tasks = numbers.first ?? 1_000_000
    var configuration = SchedulerConfiguration()
    configuration.queueLimit = tasks + 1
    configuration.maxRetainedTasks = tasks + 1
    var core = SchedulerCore(configuration: configuration, logger: logger)
    var effects = Effects()
    let now = Timestamp(nanoseconds: 0)
    let worker = try core.registerWorker(
        WorkerRegistration(name: "w", functions: ["echo"], capacity: 1), now: now, effects: &effects)
    let requests = (0..<tasks).map { SubmitRequest(function: "echo", args: Payload(json: "{\"i\":\($0)}")) }
    let clock = ContinuousClock()
    var start = clock.now
    for request in requests { _ = try core.submit(request, now: now, effects: &effects) }
    let submitTime = (clock.now - start).seconds
    start = clock.now
    var results: [WorkerResult] = []
    while true {
        let mail = try core.exchange(worker: worker, results: results, maxAssignments: 1, now: now, effects: &effects)
        effects = Effects()
        guard let assignment = mail.assignments.first else { break }
        results = [WorkerResult(taskID: assignment.taskID, outcome: .success(assignment.args))]
    }
    let runTime = (clock.now - start).seconds
    print(
        "core: submit \(Int(submitTime / Double(tasks) * 1e9)) ns/task, exchange \(Int(runTime / Double(tasks) * 1e9)) ns/task"
    )
case "drain":
    // Experiment: queue everything first, then start the pool and time only the draining.
    let tasks = numbers.count > 0 ? numbers[0] : 100_000
    let slots = numbers.count > 1 ? numbers[1] : 2
    var configuration = SchedulerConfiguration()
    configuration.queueLimit = tasks + 1
    configuration.maxRetainedTasks = tasks + 1
    let scheduler = Scheduler(configuration: configuration, logger: logger)
    scheduler.declareFunction("echo")
    let requests = (0..<tasks).map { SubmitRequest(function: "echo", args: Payload(json: "{\"i\":\($0)}")) }
    var last: TaskID?
    for offset in stride(from: 0, to: tasks, by: 1000) {
        last = try scheduler.submitBatch(Array(requests[offset..<min(offset + 1000, tasks)])).last?.taskID
    }
    let pool = InProcessWorkerPool(
        scheduler: scheduler, registry: Builtins.registry, configuration: .init(slots: slots), logger: logger)
    let clock = ContinuousClock()
    let start = clock.now
    try pool.start()
    _ = await scheduler.waitForTerminal(last!, timeout: .seconds(100))
    let seconds = (clock.now - start).seconds
    print("drain \(tasks) with \(slots) slots: \(seconds) s, \(Int(Double(tasks) / seconds)) tasks/s")
case "memory":
    let tasks = numbers.first ?? 1_000_000
    let (scheduler, pool) = try makeScheduler(tasks: tasks + 1000, slots: 2)
    _ = try await submitAndWait(scheduler, count: 1000)  // warm up allocator and tables
    let before = residentBytes()
    let payloadBytes = (0..<tasks).reduce(0) { sum, index in sum + "{\"i\":\(index)}".utf8.count }
    _ = try await submitAndWait(scheduler, count: tasks)
    let after = residentBytes()
    let retained = scheduler.stats.tasksByState[.succeeded]!
    precondition(retained == tasks + 1000, "expected every task retained, got \(retained)")
    let perTask = Double(after - before) / Double(tasks)
    let payloadPerTask = Double(payloadBytes) / Double(tasks)
    print("RSS before: \(before / 1_048_576) MiB, after \(tasks) finished tasks: \(after / 1_048_576) MiB")
    print(
        "per retained task: \(Int(perTask)) B total, payload \(Int(payloadPerTask)) B (args; the echo result shares it),"
    )
    print("beyond payload: \(Int(perTask - payloadPerTask)) B")
    await pool.stop()
default:
    print("usage: taskgate-bench-core throughput [tasks] [slots] [runs] [batch] | memory [tasks] | core [tasks]")
    print("       | drain [tasks] [slots]")
    exit(2)
}
