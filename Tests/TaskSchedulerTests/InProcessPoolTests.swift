import Testing

@testable import TaskScheduler

/// The in-process worker pool with real Swift tasks and the real clock; no test waits on time to pass.
@Suite(.timeLimit(.minutes(1))) struct InProcessPoolTests {
    struct Fixture {
        let scheduler: Scheduler
        let pool: InProcessWorkerPool
        let timers: Task<Void, Never>

        init(slots: Int = 2, functions: FunctionRegistry) throws {
            scheduler = Scheduler(logger: quietLogger)
            pool = InProcessWorkerPool(
                scheduler: scheduler, registry: functions, configuration: .init(slots: slots), logger: quietLogger)
            try pool.start()
            let scheduler = scheduler
            timers = Task { try? await scheduler.run() }
        }

        func submit(_ function: String, _ args: String = "null", timeout: Duration? = nil) throws -> TaskID {
            try scheduler.submit(SubmitRequest(function: function, args: Payload(json: args), timeout: timeout)).taskID
        }

        func finish(_ id: TaskID) async -> TaskRecord? {
            await scheduler.waitForTerminal(id, timeout: .seconds(30)).record
        }

        func shutdown() async {
            await pool.stop()
            timers.cancel()
            await timers.value
        }
    }

    static var functions: FunctionRegistry {
        var registry = FunctionRegistry()
        registry.register("echo") { args, _ in args }
        registry.register("boom") { _, _ in throw FunctionError("boom!") }
        registry.register("park") { _, _ in
            try await Task.sleep(for: .seconds(3600))
            return .null
        }
        return registry
    }

    @Test func tasksRunAndTheirResultsOrErrorsAreRecorded() async throws {
        let f = try Fixture(functions: Self.functions)
        let ok = try f.submit("echo", "{\"x\":[1,2]}")
        let bad = try f.submit("boom")
        #expect(await f.finish(ok)?.result == Payload(json: "{\"x\":[1,2]}"))
        let failed = await f.finish(bad)
        #expect(failed?.state == .failed)
        #expect(failed?.error?.code == .functionError)
        #expect(failed?.error?.detail == "boom!")
        await f.shutdown()
    }

    @Test func thousandsOfTasksOnTwoSlotsAllSucceed() async throws {
        let f = try Fixture(functions: Self.functions)
        let ids = try (0..<5000).map { try f.submit("echo", "\($0)") }
        let lookups = await f.scheduler.wait(for: ids, mode: .all, timeout: .seconds(30))
        #expect(lookups.allSatisfy { $0.record?.state == .succeeded })
        #expect(zip(ids.indices, lookups).allSatisfy { $1.record?.result == Payload(json: "\($0)") })
        await f.shutdown()
        #expect(f.scheduler.isQuiescent)
    }

    @Test func cancelOfARunningFunctionStopsItAndConfirmsCanceled() async throws {
        let f = try Fixture(slots: 1, functions: Self.functions)
        let id = try f.submit("park")
        _ = await f.scheduler.waitForChange(id, after: 1, timeout: .seconds(30))
        guard case .canceled(let record) = await f.scheduler.cancel(id, wait: .seconds(30)) else {
            Issue.record("expected canceled")
            return
        }
        #expect(record.cancel?.workerFinished == false)
        // The slot that ran it retired and a fresh one took its place.
        #expect(await f.finish(try f.submit("echo", "5"))?.result == Payload(json: "5"))
        await f.shutdown()
    }

    @Test func functionThatCannotBeStoppedAnswersCancelFailedAndDeliversItsResult() async throws {
        let started = Latch()
        let release = Latch()
        var registry = FunctionRegistry()
        registry.register("stubborn") { _, context in
            context.setCancellable(false)
            started.open()
            await release.wait()
            return Payload(json: "\"finished\"")
        }
        let f = try Fixture(slots: 1, functions: registry)
        let id = try f.submit("stubborn")
        await started.wait()
        guard case .cancelFailed(let record) = await f.scheduler.cancel(id, wait: .seconds(30)) else {
            Issue.record("expected cancel_failed")
            return
        }
        #expect(record.state == .running)
        release.open()
        let final = await f.finish(id)
        #expect(final?.state == .succeeded)
        #expect(final?.result == Payload(json: "\"finished\""))
        await f.shutdown()
    }

    @Test func functionThatFinishesDespiteTheCancelLeavesTheTaskCanceledAndSaysSo() async throws {
        let started = Latch()
        var registry = FunctionRegistry()
        registry.register("ignores") { _, _ in
            started.open()
            // Ignores cancellation: waits for the cancel to arrive, then returns a result anyway.
            while !Task.isCancelled { await Task.yield() }
            return Payload(json: "1")
        }
        let f = try Fixture(slots: 1, functions: registry)
        let id = try f.submit("ignores")
        await started.wait()
        guard case .canceled(let record) = await f.scheduler.cancel(id, wait: .seconds(30)) else {
            Issue.record("expected canceled")
            return
        }
        #expect(record.cancel?.workerFinished == true)
        #expect(record.result == nil)
        await f.shutdown()
    }

    @Test func executionDeadlineFailsTheTaskAndFreesTheSlot() async throws {
        let f = try Fixture(slots: 1, functions: Self.functions)
        let id = try f.submit("park", timeout: .milliseconds(50))
        let record = await f.finish(id)
        #expect(record?.state == .failed)
        #expect(record?.error?.code == .timeout)
        #expect(await f.finish(try f.submit("echo", "1"))?.state == .succeeded)
        await f.shutdown()
    }

    @Test func stoppingLetsRunningTasksFinishAndLeavesQueuedOnesPending() async throws {
        let started = Latch()
        let release = Latch()
        var registry = FunctionRegistry()
        registry.register("slow") { _, _ in
            started.open()
            await release.wait()
            return Payload(json: "\"done\"")
        }
        let f = try Fixture(slots: 1, functions: registry)
        let running = try f.submit("slow")
        let queued = try f.submit("slow")
        await started.wait()
        f.pool.beginStopping()
        async let stopped: Void = f.pool.stop()
        release.open()
        await stopped
        #expect(f.scheduler.task(running).record?.state == .succeeded)
        #expect(f.scheduler.task(queued).record?.state == .pending)
        #expect(f.scheduler.workers.isEmpty)
        f.timers.cancel()
    }
}
