import Foundation
import TaskGateTesting
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// Completion webhooks through `taskgate serve`: the flags, and deliveries that outlive the process.
@Suite struct WebhookCommandTests {
    static let secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"

    /// Waits (bounded) until `GET /tasks/{id}` shows a callback whose state is `state`; returns the last reading.
    func callback(_ client: TestHTTPClient, _ id: String, reaches state: String) async throws -> [String: Any]? {
        let deadline = ContinuousClock.now + .seconds(60)
        var last: [String: Any]?
        while ContinuousClock.now < deadline {
            last = try await client.request("GET", "/tasks/\(id)").json["callback"] as? [String: Any]
            if last?["state"] as? String == state { return last }
            try await Task.sleep(for: .milliseconds(50))
        }
        return last
    }

    /// A receiver that fails, a kill -9 between attempts, and a restart on the same data directory: the delivery is
    /// still pending there, goes on, and reaches the receiver once it works.
    @Test func aPendingDeliverySurvivesKillNineAndIsMadeAfterTheRestart() async throws {
        let root = makeTemporaryDirectory(prefix: "taskgate-webhooks")
        defer { try? FileManager.default.removeItem(atPath: root) }
        let receiver = try await WebhookReceiver()
        defer { Task { await receiver.stop() } }
        receiver.behave("/hooks/done", .init(statuses: [503]))
        let arguments = [
            "--data-dir", root + "/store", "--workers", "1", "--callback-allow", receiver.origin + "/hooks/",
            "--webhook-secret", Self.secret, "--callback-attempts", "50",
        ]
        guard let (first, client) = try await startServe(arguments, connections: 4) else { return }
        let submitted = try await client.post(
            "/tasks", json: #"{"function":"echo","args":7,"callback_url":"\#(receiver.origin)/hooks/done"}"#)
        #expect(submitted.status == 202, "\(submitted.text)")
        let id = try #require(submitted.json["id"] as? String)
        // Wait until one attempt failed and was stored.
        let deadline = ContinuousClock.now + .seconds(30)
        while ContinuousClock.now < deadline, receiver.requests.isEmpty {
            try await Task.sleep(for: .milliseconds(20))
        }
        let pending = try await callback(client, id, reaches: "pending")
        #expect((pending?["attempts"] as? Int ?? 0) >= 1 && pending?["last_status"] as? Int == 503, "\(pending ?? [:])")
        first.signal(SIGKILL)
        _ = await first.waitForExit()
        try? await client.shutdown()

        receiver.behave("/hooks/done", .init(statuses: [200]))
        guard let (second, again) = try await startServe(arguments, connections: 4) else { return }
        let delivered = try await callback(again, id, reaches: "delivered")
        #expect(delivered?["state"] as? String == "delivered" && delivered?["last_status"] as? Int == 200)
        let requests = receiver.requests
        #expect(requests.last?.headers["webhook-id"] == "msg_\(id)")
        #expect(requests.allSatisfy { $0.headers["webhook-signature"]?.hasPrefix("v1,") == true })
        second.signal(SIGTERM)
        #expect(await second.waitForExit(within: .seconds(30)) == 0)
        try? await again.shutdown()
    }

    @Test func anAllowListNeedsASecretAndBadEntriesAreRefused() async throws {
        let noSecret = try TestProcess(taskgate: [
            "serve", "--port", "0", "--durability", "memory", "--callback-allow", "hooks.test",
        ])
        #expect(await noSecret.finish() != 0)
        #expect(noSecret.stderr.contains("needs a signing secret"))
        let badEntry = try TestProcess(
            taskgate: [
                "serve", "--port", "0", "--durability", "memory", "--callback-allow", "ftp://x/",
                "--webhook-secret", Self.secret,
            ])
        #expect(await badEntry.finish() != 0)
        #expect(badEntry.stderr.contains("ftp://x/"))
        let badSecret = try TestProcess(
            taskgate: [
                "serve", "--port", "0", "--durability", "memory", "--callback-allow", "hooks.test",
                "--webhook-secret", "whsec_short",
            ])
        #expect(await badSecret.finish() != 0)
        #expect(badSecret.stderr.contains("whsec_"))
        let generated = try TestProcess(taskgate: ["webhook-secret"])
        #expect(await generated.finish() == 0)
        #expect(generated.stdout.hasPrefix("whsec_") && generated.stdout.count > 40)
    }
}
