import Logging
import TaskGateFunctions
import TaskScheduler
import Testing

@Suite struct BuiltinsTests {
    let context = TaskContext(taskID: TaskID(rawValue: 1), function: "test")

    @Test func registryOffersTheFourBuiltins() {
        #expect(Builtins.registry.names == ["echo", "sleep", "sha256", "fail"])
    }

    @Test func echoReturnsItsArgsByteForByte() async throws {
        let args = Payload(json: "{\"b\": [1, 2.5, \"ü\"], \"a\": null}")
        #expect(try await Builtins.echo(args, context) == args)
    }

    @Test func sha256IsTheHexDigestOfTheArgsBytes() async throws {
        // sha256 of the three bytes `"a"` (a JSON string) and of `{}`.
        #expect(
            try await Builtins.sha256(Payload(json: "\"a\""), context)
                == Payload(json: "\"ac8d8342bbb2362d13f0a559a3621bb407011368895164b628a54f7fc33fc43c\""))
        #expect(
            try await Builtins.sha256(Payload(json: "{}"), context)
                == Payload(json: "\"44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a\""))
    }

    @Test(arguments: [
        ("\"disk full\"", "disk full"),
        ("{\"message\": \"bad input\"}", "bad input"),
    ])
    func failThrowsWithTheGivenMessage(args: String, message: String) async {
        await #expect {
            _ = try await Builtins.fail(Payload(json: args), context)
        } throws: { error in
            (error as? FunctionError)?.message == message
        }
    }

    @Test func failWithOtherArgsStillFailsAndMentionsThem() async {
        await #expect {
            _ = try await Builtins.fail(Payload(json: "[1,2]"), context)
        } throws: { error in
            (error as? FunctionError)?.message.contains("[1,2]") == true
        }
    }

    @Test func sleepReturnsTheSecondsSlept() async throws {
        #expect(
            try await Builtins.sleep(Payload(json: "{\"seconds\": 0}"), context) == Payload(json: "{\"slept_s\":0.0}"))
    }

    @Test(arguments: ["{}", "{\"seconds\": -1}", "{\"seconds\": \"x\"}", "3", "{\"seconds\": 1e9}"])
    func sleepRejectsBadArgs(args: String) async {
        await #expect(throws: FunctionError.self) { _ = try await Builtins.sleep(Payload(json: args), context) }
    }

    @Test(.timeLimit(.minutes(1)))
    func sleepStopsAtOnceWhenCancelled() async {
        let task = Task { try await Builtins.sleep(Payload(json: "{\"seconds\": 3600}"), context) }
        task.cancel()
        await #expect(throws: CancellationError.self) { _ = try await task.value }
    }

    @Test(.timeLimit(.minutes(1)))
    func builtinsRunThroughTheScheduler() async throws {
        let scheduler = Scheduler(logger: .init(label: "test") { _ in SwiftLogNoOpLogHandler() })
        let pool = InProcessWorkerPool(
            scheduler: scheduler, registry: Builtins.registry, configuration: .init(slots: 2),
            logger: .init(label: "test") { _ in SwiftLogNoOpLogHandler() })
        try pool.start()
        let sleeping = try scheduler.submit(
            SubmitRequest(function: "sleep", args: Payload(json: "{\"seconds\": 3600}"))
        ).taskID
        let failing = try scheduler.submit(SubmitRequest(function: "fail", args: Payload(json: "\"nope\""))).taskID
        let failed = await scheduler.waitForTerminal(failing, timeout: .seconds(30)).record
        #expect(failed?.error?.detail == "nope")
        // The sleep starts on a slot (pending -> running), so the cancel goes through the slot and its confirm.
        guard case .found(let started) = await scheduler.waitForChange(sleeping, after: 1, timeout: .seconds(30)) else {
            Issue.record("the sleeping task vanished")
            return
        }
        #expect(started.state == .running)
        guard case .canceled = await scheduler.cancel(sleeping, wait: .seconds(30)) else {
            Issue.record("a cancelled sleep should confirm canceled")
            return
        }
        await pool.stop()
    }
}
