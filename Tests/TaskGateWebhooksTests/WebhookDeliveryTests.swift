import Crypto
import Logging
import TaskGateHTTP
import TaskGateTesting
import TaskScheduler
import Testing

@testable import TaskGateWebhooks

/// Completion webhooks end to end: a live server, the dispatcher, and a real receiver on loopback that works, fails,
/// is slow or is gone.
@Suite struct WebhookDeliveryTests {
    static let secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"

    /// Runs `body` with a live server allowing callbacks to `receiver`, and a dispatcher delivering them (retries
    /// 50 ms apart, at most `attempts`, each at most `timeout`). The default timeout is long: on a loaded machine
    /// (CI's two cores under stress-ng) a first attempt on loopback once missed 5 s, and the tests that do not test
    /// the timeout count attempts.
    func withWebhooks(
        attempts: Int = 3, timeout: Duration = .seconds(30), allow: [String]? = nil,
        _ body: (LiveServer, TestHTTPClient, WebhookReceiver) async throws -> Void
    ) async throws {
        let receiver = try await WebhookReceiver()
        try await withLiveServer(
            scheduler: {
                $0.callbacks.maxAttempts = attempts
                $0.callbacks.firstDelay = .milliseconds(50)
                $0.callbacks.maxDelay = .milliseconds(100)
            },
            gateway: { $0.callbackAllow = try! CallbackAllowList(allow ?? [receiver.origin + "/hooks/"]) }
        ) { server, client in
            var configuration = WebhookDispatcher.Configuration(signer: try WebhookSigner(secret: Self.secret))
            configuration.timeout = timeout
            let dispatcher = WebhookDispatcher(
                scheduler: server.scheduler, store: server.store, configuration: configuration,
                logger: Logger(label: "test") { _ in SwiftLogNoOpLogHandler() })
            dispatcher.attach()
            let running = Task { try await dispatcher.run() }
            defer { running.cancel() }
            try await body(server, client, receiver)
            running.cancel()
            _ = await running.result
        }
        await receiver.stop()
    }

    /// Submits an echo task calling back to `path` on the receiver; returns its id.
    func submit(_ client: TestHTTPClient, _ receiver: WebhookReceiver, _ path: String) async throws -> TaskID {
        let response = try await client.post(
            "/tasks", json: #"{"function":"echo","args":{"n":1},"callback_url":"\#(receiver.origin)\#(path)"}"#)
        #expect(response.status == 202, "\(response.text)")
        return try #require(TaskID((response.json["id"] as? String) ?? ""))
    }

    /// Waits (bounded) until the task's delivery has ended and returns it.
    func settled(_ server: LiveServer, _ id: TaskID) async throws -> CallbackDelivery {
        let deadline = ContinuousClock.now + .seconds(60)
        while ContinuousClock.now < deadline {
            if let delivery = server.scheduler.task(id).record?.callback, delivery.state != .pending { return delivery }
            try await Task.sleep(for: .milliseconds(20))
        }
        Issue.record("the delivery of \(id) did not end within 60 s: \(String(describing: server.scheduler.task(id)))")
        throw CancellationError()
    }

    @Test func aWorkingReceiverGetsOneSignedPostOfTheFinishedTask() async throws {
        try await withWebhooks { server, client, receiver in
            let id = try await submit(client, receiver, "/hooks/ok")
            let delivery = try await settled(server, id)
            #expect(
                delivery.state == .delivered && delivery.attempts == 1 && delivery.lastStatus == 204, "\(delivery)")
            let requests = receiver.requests
            #expect(requests.count == 1)
            let request = try #require(requests.first)
            #expect(request.path == "/hooks/ok" && request.headers["content-type"] == "application/json")
            #expect(request.headers["webhook-id"] == "msg_\(id)")
            let timestamp = try #require(request.headers["webhook-timestamp"].flatMap { Int64($0) })
            // Signed as the specification says, checked here with the HMAC computed independently.
            let key = SymmetricKey(data: Base64.decode(String(Self.secret.dropFirst(6)))!)
            let expected = HMAC<SHA256>.authenticationCode(
                for: Array("msg_\(id).\(timestamp).".utf8) + request.body, using: key)
            #expect(request.headers["webhook-signature"] == "v1," + Base64.encode(Array(expected)))
            let body = String(decoding: request.body, as: UTF8.self)
            #expect(body.hasPrefix(#"{"type":"task.succeeded","timestamp":""#))
            #expect(body.contains(#""id":"\#(id)""#) && body.contains(#""result":{"n":1}"#))
            // The task shows the delivery.
            let shown = try await client.request("GET", "/tasks/\(id)")
            let callback = try #require(shown.json["callback"] as? [String: Any])
            #expect(callback["state"] as? String == "delivered" && callback["attempts"] as? Int == 1)
            #expect(callback["last_status"] as? Int == 204 && callback["finished_at"] is String)
            #expect(shown.json["callback_url"] as? String == receiver.origin + "/hooks/ok")
        }
    }

    @Test func aFailingReceiverIsRetriedWithTheSameIdUntilAttemptsAreSpent() async throws {
        try await withWebhooks(attempts: 3) { server, client, receiver in
            receiver.behave("/hooks/down", .init(statuses: [500]))
            let id = try await submit(client, receiver, "/hooks/down")
            let delivery = try await settled(server, id)
            #expect(
                delivery.state == .failed && delivery.attempts == 3 && delivery.lastStatus == 500, "\(delivery)")
            #expect(delivery.lastError == "the receiver answered 500")
            let requests = receiver.requests
            #expect(requests.map { $0.headers["taskgate-attempt"] ?? "" } == ["1", "2", "3"])
            #expect(Set(requests.map { $0.headers["webhook-id"] ?? "" }) == ["msg_\(id)"])
        }
    }

    @Test func aReceiverThatRecoversGetsTheDelivery() async throws {
        try await withWebhooks(attempts: 5) { server, client, receiver in
            receiver.behave("/hooks/flaky", .init(statuses: [503, 502, 200]))
            let id = try await submit(client, receiver, "/hooks/flaky")
            let delivery = try await settled(server, id)
            #expect(delivery.state == .delivered && delivery.attempts == 3 && delivery.lastStatus == 200)
            #expect(delivery.lastError == nil)
            #expect(receiver.requests.count == 3)
        }
    }

    @Test func aSlowReceiverTimesOutAndCountsAsFailed() async throws {
        try await withWebhooks(attempts: 2, timeout: .milliseconds(300)) { server, client, receiver in
            receiver.behave("/hooks/slow", .init(statuses: [200], delay: .seconds(3)))
            let id = try await submit(client, receiver, "/hooks/slow")
            let delivery = try await settled(server, id)
            #expect(delivery.state == .failed && delivery.attempts == 2)
            #expect(delivery.lastStatus == nil && delivery.lastError == "no answer within the timeout")
        }
    }

    @Test func aGoneReceiverIsNotCalledAgain() async throws {
        try await withWebhooks(attempts: 5) { server, client, receiver in
            receiver.behave("/hooks/gone", .init(statuses: [410]))
            let id = try await submit(client, receiver, "/hooks/gone")
            let delivery = try await settled(server, id)
            #expect(delivery.state == .gone && delivery.attempts == 1 && delivery.lastStatus == 410, "\(delivery)")
            try await Task.sleep(for: .milliseconds(300))
            #expect(receiver.requests.count == 1)
        }
    }

    @Test func aReceiverThatIsNotListeningIsRetried() async throws {
        try await withWebhooks(attempts: 2, timeout: .seconds(1), allow: ["127.0.0.1"]) { server, client, _ in
            let closed = try await WebhookReceiver()
            let url = closed.origin + "/hooks/x"
            await closed.stop()
            let response = try await client.post("/tasks", json: #"{"function":"echo","callback_url":"\#(url)"}"#)
            #expect(response.status == 202, "\(response.text)")
            let id = try #require(TaskID((response.json["id"] as? String) ?? ""))
            let delivery = try await settled(server, id)
            #expect(delivery.state == .failed && delivery.attempts == 2 && delivery.lastStatus == nil)
            // A refused connection is retried by the client until the attempt's deadline: either is how it fails.
            let error = delivery.lastError ?? ""
            #expect(error.hasPrefix("request failed") || error == "no answer within the timeout", "\(error)")
        }
    }

    @Test func callbacksOutsideTheListAreRefusedWithTheirPointer() async throws {
        try await withWebhooks { server, client, receiver in
            let otherPort = "http://127.0.0.1:\(receiver.port == 65_535 ? 1 : receiver.port + 1)/hooks/x"
            for url in [
                "http://10.0.0.1/hooks/x", receiver.origin + "/admin", receiver.origin + "/hooks/../admin", otherPort,
                receiver.origin + "/hooksx", "http://user@127.0.0.1:\(receiver.port)/hooks/x",
            ] {
                let response = try await client.post("/tasks", json: #"{"function":"echo","callback_url":"\#(url)"}"#)
                #expect(response.status == 422 && response.json["code"] as? String == "callback_not_allowed", "\(url)")
            }
            let batch = try await client.post(
                "/tasks/batch",
                json: #"[{"function":"echo"},{"function":"echo","callback_url":"http://169.254.169.254/"}]"#)
            #expect(batch.status == 422 && batch.json["pointer"] as? String == "/1/callback_url")
            #expect(server.scheduler.stats.counters.submitted == 0)
        }
    }

    @Test func withoutAnAllowListCallbacksAreOff() async throws {
        try await withLiveServer { server, client in
            let response = try await client.post(
                "/tasks", json: #"{"function":"echo","callback_url":"http://127.0.0.1:1/hooks"}"#)
            #expect(response.status == 422 && response.json["code"] as? String == "callback_not_allowed")
            #expect((response.json["detail"] as? String)?.contains("off") == true)
            let plain = try await client.post("/tasks", json: #"{"function":"echo","callback_url":null}"#)
            #expect(plain.status == 202)
            _ = server
        }
    }
}
