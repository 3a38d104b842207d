import Testing

@testable import TaskScheduler

/// Completion webhooks in the core: a delivery is created when a task with a `callback_url` finishes, each due
/// attempt is listed in `Effects.deliveries`, and reported outcomes end it or schedule the next attempt.
@Suite struct CallbackTests {
    static let url = "http://hooks.test/done"

    static func delivering(_ configure: (inout SchedulerConfiguration) -> Void = { _ in }) -> Harness {
        var harness = Harness(configure: configure)
        harness.apply { core, now, _ in core.startDelivering(now: now) }
        return harness
    }

    /// Submits a task with the callback, runs it on a new worker and reports `result`.
    static func finish(_ h: inout Harness, url: String? = url, key: String? = nil) throws -> TaskID {
        let id = try h.submit(
            SubmitRequest(function: "f", args: Payload(json: "1"), idempotencyKey: key, callbackURL: url))
        let worker = h.register()
        #expect(h.take(worker) == [id])
        h.succeed(worker, id)
        return id
    }

    static func report(_ h: inout Harness, _ id: TaskID, _ attempt: Int, _ outcome: DeliveryOutcome) -> Bool {
        h.apply { core, now, effects in
            core.deliveryAttempted(id, attempt: attempt, outcome: outcome, now: now, effects: &effects)
        }
    }

    @Test func aTaskWithoutACallbackHasNoDelivery() throws {
        var h = Self.delivering()
        let id = try Self.finish(&h, url: nil)
        #expect(h.record(id).callback == nil)
        #expect(h.deliveries.isEmpty)
        h.expectConsistent()
    }

    @Test func theFirstAttemptIsDueWhenTheTaskFinishesAndSuccessEndsIt() throws {
        var h = Self.delivering { _ in }
        h.core.persisting = true
        let id = try Self.finish(&h)
        #expect(h.deliveries.count == 1)
        let order = h.deliveries[0]
        #expect(order.attempt == 1 && order.record.id == id && order.record.state == .succeeded)
        // Stamped with the terminal state's store change: the deliverer waits for that commit.
        #expect(order.record.storeSeq == h.record(id).storeSeq && order.record.storeSeq > 0)
        #expect(h.record(id).callback?.state == .pending && h.record(id).callback?.attempts == 0)
        let version = h.record(id).version
        #expect(Self.report(&h, id, 1, .delivered(status: 204)))
        let delivery = try #require(h.record(id).callback)
        #expect(delivery.state == .delivered && delivery.attempts == 1 && delivery.lastStatus == 204)
        #expect(delivery.finishedAt == h.now && delivery.nextAttemptAt == nil)
        #expect(h.record(id).version == version + 1)
        // The change is stored and counted; a second report of the same attempt changes nothing.
        guard case .updated(let stored) = h.stored.last else {
            Issue.record("the delivery was not stored")
            return
        }
        #expect(stored.callback?.state == .delivered)
        #expect(!Self.report(&h, id, 1, .delivered(status: 200)))
        #expect(h.core.counters.callbacksDelivered == 1)
        h.advance(.seconds(3_000))
        #expect(h.deliveries.count == 1)
        h.expectConsistent()
    }

    @Test func failuresBackOffWithJitterUntilAttemptsAreSpent() throws {
        var h = Self.delivering {
            $0.callbacks.maxAttempts = 4
            $0.callbacks.firstDelay = .seconds(1)
            $0.callbacks.maxDelay = .seconds(3)
        }
        let id = try Self.finish(&h)
        var steps: [Duration] = []
        for attempt in 1...4 {
            #expect(h.deliveries.last?.attempt == attempt)
            #expect(Self.report(&h, id, attempt, .failed(status: 500, detail: "the receiver answered 500")))
            guard attempt < 4 else { break }
            let delivery = try #require(h.record(id).callback)
            #expect(delivery.state == .pending && delivery.attempts == attempt && delivery.lastStatus == 500)
            let due = try #require(delivery.nextAttemptAt)
            steps.append(due - h.now)
            // Not due a moment before; due at its time.
            h.advance(due - h.now - .milliseconds(1))
            #expect(h.deliveries.count == attempt)
            h.advance(.milliseconds(1))
            #expect(h.deliveries.count == attempt + 1)
        }
        // 1 s, 2 s, then capped at 3 s; each between half and all of its step.
        for (step, nominal) in zip(steps, [1.0, 2.0, 3.0]) {
            #expect(step >= .seconds(nominal / 2) && step <= .seconds(nominal), "\(steps)")
        }
        let delivery = try #require(h.record(id).callback)
        #expect(
            delivery.state == .failed && delivery.attempts == 4 && delivery.lastError == "the receiver answered 500")
        #expect(h.core.counters.callbackAttemptsFailed == 4 && h.core.counters.callbacksGivenUp == 1)
        h.advance(.seconds(60))
        #expect(h.deliveries.count == 4)
        h.expectConsistent()
    }

    @Test func goneEndsTheDeliveryAtOnce() throws {
        var h = Self.delivering()
        let id = try Self.finish(&h)
        #expect(Self.report(&h, id, 1, .gone))
        let delivery = try #require(h.record(id).callback)
        #expect(delivery.state == .gone && delivery.lastStatus == 410 && delivery.attempts == 1)
        h.advance(.seconds(600))
        #expect(h.deliveries.count == 1)
        h.expectConsistent()
    }

    @Test func aReportForAnAttemptThatIsNotDueIsIgnored() throws {
        var h = Self.delivering()
        let id = try Self.finish(&h)
        #expect(!Self.report(&h, id, 2, .delivered(status: 200)))
        #expect(!Self.report(&h, TaskID(rawValue: 999), 1, .delivered(status: 200)))
        #expect(h.record(id).callback?.attempts == 0)
    }

    @Test func theLastErrorIsCutOnACharacterBoundary() throws {
        var h = Self.delivering()
        let id = try Self.finish(&h)
        let detail = String(repeating: "é", count: 200)
        _ = h.apply { core, now, effects in
            core.deliveryAttempted(
                id, attempt: 1, outcome: .failed(status: nil, detail: detail), now: now, effects: &effects)
        }
        let kept = try #require(h.record(id).callback?.lastError)
        #expect(kept.utf8.count == CallbackDelivery.maxErrorBytes && kept.allSatisfy { $0 == "é" })
    }

    @Test func withoutADelivererDeliveriesWaitAndStartWhenOneAttaches() throws {
        var h = Harness()
        let id = try Self.finish(&h)
        #expect(h.deliveries.isEmpty)
        #expect(h.record(id).callback?.state == .pending)
        h.advance(.seconds(5))
        #expect(h.deliveries.isEmpty)
        h.apply { core, now, _ in core.startDelivering(now: now) }
        h.advance(.zero)
        #expect(h.deliveries.map(\.attempt) == [1] && h.deliveries.first?.record.id == id)
        h.expectConsistent()
    }

    @Test func retentionEvictingAPendingDeliveryCountsItAbandoned() throws {
        var h = Self.delivering { $0.maxRetainedTasks = 1 }
        let worker = h.register()
        for _ in 1...2 {
            let id = try h.submit(SubmitRequest(function: "f", callbackURL: Self.url))
            #expect(h.take(worker) == [id])
            h.succeed(worker, id)
        }
        let first = TaskID(rawValue: 1)
        #expect(h.core.lookup(first).record == nil)
        #expect(h.core.counters.callbacksAbandoned == 1)
        h.expectConsistent()
        // The evicted task's timer, if any, fires into nothing.
        h.advance(.seconds(600))
        #expect(h.deliveries.count == 2)
    }

    @Test func theCallbackIsPartOfWhatAnIdempotencyKeyCompares() throws {
        var h = Self.delivering()
        let id = try h.submit(SubmitRequest(function: "f", idempotencyKey: "k", callbackURL: Self.url))
        #expect(try h.submit(SubmitRequest(function: "f", idempotencyKey: "k", callbackURL: Self.url)) == id)
        #expect(throws: SchedulerError.self) {
            try h.submit(SubmitRequest(function: "f", idempotencyKey: "k", callbackURL: "http://hooks.test/other"))
        }
        #expect(throws: SchedulerError.self) { try h.submit(SubmitRequest(function: "f", idempotencyKey: "k")) }
        // Without a callback the fingerprint is what it was before callbacks existed.
        #expect(
            SchedulerCore.fingerprint(of: SubmitRequest(function: "f"))
                != SchedulerCore.fingerprint(of: SubmitRequest(function: "f", callbackURL: Self.url)))
    }

    @Test func aCallbackURLMustBeVisibleASCIIOfBoundedLength() {
        var h = Self.delivering { $0.maxCallbackURLLength = 40 }
        for bad in [
            "", "http://hooks.test/a b", "http://hooks.test/\n",
            "http://hooks.test/" + String(repeating: "x", count: 30),
        ] {
            do {
                try h.submit(SubmitRequest(function: "f", callbackURL: bad))
                Issue.record("accepted \(bad)")
            } catch {
                #expect(error.code == .invalidArgument && error.field == .callbackURL)
            }
        }
    }

    @Test func aRestartResumesPendingDeliveriesAtTheirTime() throws {
        var before = Self.delivering()
        before.core.persisting = true
        let worker = before.register(["f"], capacity: 4)
        let waiting = try before.submit(SubmitRequest(function: "f", callbackURL: Self.url))
        let delivered = try before.submit(SubmitRequest(function: "f", callbackURL: Self.url))
        let running = try before.submit(SubmitRequest(function: "f", maxRetries: 0, callbackURL: Self.url))
        #expect(before.take(worker).count == 3)
        before.succeed(worker, waiting)
        before.succeed(worker, delivered)
        before.apply { core, now, effects in
            core.deliveryAttempted(
                waiting, attempt: 1, outcome: .failed(status: 503, detail: "busy"), now: now, effects: &effects)
            core.deliveryAttempted(delivered, attempt: 1, outcome: .delivered(status: 200), now: now, effects: &effects)
        }
        let due = try #require(before.record(waiting).callback?.nextAttemptAt)
        var store = PersistenceTests.FakeStore()
        store.apply(before.stored)

        var after = Harness()
        after.now = before.now
        after.core.persisting = true
        _ = after.apply { core, now, effects in core.restore(store.recovered, now: now, effects: &effects) }
        // The running task failed (worker_died, retries spent) during the restore: its delivery is pending too.
        #expect(after.state(running) == .failed && after.record(running).callback?.state == .pending)
        #expect(after.record(delivered).callback?.state == .delivered)
        after.expectConsistent()
        after.apply { core, now, _ in core.startDelivering(now: now) }
        after.advance(.zero)
        #expect(after.deliveries.map { "\($0.record.id.rawValue)/\($0.attempt)" } == ["\(running.rawValue)/1"])
        after.advance(due - after.now)
        #expect(after.deliveries.map(\.attempt) == [1, 2] && after.deliveries.last?.record.id == waiting)
        after.expectConsistent()
    }

    @Test func theDelayIsDeterministicPerTaskAndAttemptAndCapped() {
        var policy = CallbackPolicy()
        policy.firstDelay = .seconds(1)
        policy.maxDelay = .seconds(300)
        let id = TaskID(rawValue: 42)
        #expect(policy.delay(after: 3, of: id) == policy.delay(after: 3, of: id))
        let spread = Set((1...50).map { policy.delay(after: 1, of: TaskID(rawValue: $0)) })
        #expect(spread.count > 40)
        for attempt in 1...60 {
            let delay = policy.delay(after: attempt, of: id)
            #expect(delay >= .milliseconds(500) && delay <= .seconds(300))
        }
        #expect(policy.delay(after: 60, of: id) >= .seconds(150))
    }
}
