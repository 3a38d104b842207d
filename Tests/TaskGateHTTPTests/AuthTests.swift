import Foundation
import TaskGateHTTP
import TaskGateTesting
import TaskScheduler
import Testing

/// Bearer tokens by role, in memory: who may call what, the answers to those who may not, rotation.
@Suite struct AuthTests {
    let tokens = AccessTokens(client: ["client-a", "client-b"], worker: ["worker-a"], metrics: ["scraper"])

    func harness() throws -> GatewayHarness {
        let h = try GatewayHarness()
        h.gateway.replaceTokens(tokens)
        return h
    }

    func bearer(_ token: String) -> [String: String] { ["authorization": "Bearer \(token)"] }

    @Test func withoutATokenEveryEndpointButTheProbesAnswers401WithAChallenge() async throws {
        let h = try harness()
        let routes: [(String, String)] = [
            ("GET", "/tasks"), ("POST", "/tasks"), ("POST", "/tasks/batch"), ("POST", "/tasks/wait"),
            ("GET", "/tasks/00000001"), ("DELETE", "/tasks/00000001"), ("GET", "/stats"), ("GET", "/workers"),
            ("POST", "/workers"), ("POST", "/workers/w1/poll"), ("DELETE", "/workers/w1"), ("GET", "/metrics"),
            ("GET", "/nowhere"),
        ]
        for (method, path) in routes {
            let response = await h.send(method, path, json: method == "POST" ? "{}" : nil)
            #expect(response.status == 401, "\(method) \(path)")
            #expect(response.object["code"] as? String == "unauthorized")
            #expect(response.header("Content-Type") == "application/problem+json")
            #expect(response.header("WWW-Authenticate") == #"Bearer realm="taskgate""#)
        }
        for path in ["/healthz", "/readyz"] {
            #expect(await h.send("GET", path).status == 200, "\(path) stays open for probes")
        }
    }

    @Test func aWrongOrMalformedTokenIs401WithInvalidToken() async throws {
        let h = try harness()
        for header in [
            "Bearer client-c", "Bearer client-", "Bearer client-aa", "Basic Y2xpZW50LWE=", "Bearer", "client-a",
            "Bearer ", "Bearer  ", "Bearerclient-a", "Bearer client-a extra", "Bearer\tclient-a", "Bearex client-a",
        ] {
            let response = await h.send("GET", "/stats", headers: ["authorization": header])
            #expect(response.status == 401, "\(header)")
            #expect(response.header("WWW-Authenticate") == #"Bearer realm="taskgate", error="invalid_token""#)
        }
    }

    @Test func theSchemeIsCaseInsensitiveAndSpacesBeforeTheTokenAreSkipped() async throws {
        let h = try harness()
        for header in ["bearer client-a", "BEARER client-a", "bEaReR   client-a"] {
            #expect(await h.send("GET", "/stats", headers: ["authorization": header]).status == 200, "\(header)")
        }
    }

    @Test func eachRoleReachesItsOwnAPIAndGets403OnTheOther() async throws {
        let h = try harness()
        for token in ["client-a", "client-b"] {
            #expect(await h.send("GET", "/stats", headers: bearer(token)).status == 200)
            let submit = await h.send(
                "POST", "/tasks", headers: bearer(token), json: #"{"function":"f","args":1}"#)
            #expect(submit.status == 202)
        }
        #expect(await h.send("GET", "/workers", headers: bearer("client-a")).status == 200)
        let register = #"{"name":"r","functions":["g"],"capacity":1}"#
        let refused = await h.send("POST", "/workers", headers: bearer("client-a"), json: register)
        #expect(refused.status == 403)
        #expect(refused.object["code"] as? String == "forbidden")
        #expect(
            await h.send("POST", "/workers/\(h.worker)/poll", headers: bearer("client-a"), json: "{}").status == 403)

        let registered = await h.send("POST", "/workers", headers: bearer("worker-a"), json: register)
        #expect(registered.status == 201)
        #expect(await h.send("GET", "/workers", headers: bearer("worker-a")).status == 200)
        for (method, path) in [("GET", "/stats"), ("GET", "/tasks"), ("POST", "/tasks")] {
            let response = await h.send(
                method, path, headers: bearer("worker-a"), json: method == "POST" ? #"{"function":"f"}"# : nil)
            #expect(response.status == 403, "\(method) \(path)")
        }
    }

    @Test func aMetricsTokenReadsMetricsAndNothingElse() async throws {
        let h = try harness()
        let scrape = await h.send("GET", "/metrics", headers: bearer("scraper"))
        #expect(scrape.status == 200)
        #expect(String(decoding: scrape.body, as: UTF8.self).contains("taskgate_tasks_unfinished"))
        #expect(await h.send("GET", "/metrics", headers: bearer("client-a")).status == 200, "clients read it too")
        #expect(await h.send("GET", "/metrics", headers: bearer("worker-a")).status == 403)
        let register = #"{"name":"r","functions":["g"],"capacity":1}"#
        for (method, path, body) in [
            ("GET", "/stats", nil), ("GET", "/tasks", nil), ("POST", "/tasks", #"{"function":"f"}"#),
            ("GET", "/tasks/00000001", nil), ("DELETE", "/tasks/00000001", nil), ("GET", "/workers", nil),
            ("POST", "/workers", register), ("POST", "/workers/\(h.worker)/poll", "{}"),
        ] {
            let response = await h.send(method, path, headers: bearer("scraper"), json: body)
            #expect(response.status == 403, "\(method) \(path)")
            #expect(response.object["code"] as? String == "forbidden")
        }
        // Metrics tokens alone turn auth on: the other roles are then closed.
        h.gateway.replaceTokens(AccessTokens(metrics: ["scraper"]))
        #expect(await h.send("GET", "/stats").status == 401)
        #expect(await h.send("GET", "/metrics", headers: bearer("scraper")).status == 200)
    }

    @Test func aRefusedRequestChangesNothing() async throws {
        let h = try harness()
        let before = await h.send("GET", "/stats", headers: bearer("client-a")).object
        _ = await h.send("POST", "/tasks", json: #"{"function":"f","args":1}"#)
        _ = await h.send("POST", "/tasks", headers: bearer("worker-a"), json: #"{"function":"f","args":1}"#)
        let after = await h.send("GET", "/stats", headers: bearer("client-a")).object
        let submitted = { (stats: [String: Any]) in (stats["totals"] as? [String: Any])?["submitted"] as? Int }
        #expect(submitted(before) == submitted(after))
    }

    @Test func aRoleWithoutTokensIsClosedAndRotationTakesEffectAtOnce() async throws {
        let h = try GatewayHarness()
        #expect(await h.send("GET", "/stats").status == 200, "no token: auth off")
        h.gateway.replaceTokens(AccessTokens(client: ["old"]))
        #expect(await h.send("GET", "/stats").status == 401)
        #expect(await h.send("GET", "/stats", headers: bearer("old")).status == 200)
        let register = #"{"name":"r","functions":["g"],"capacity":1}"#
        #expect(await h.send("POST", "/workers", headers: bearer("old"), json: register).status == 403)
        h.gateway.replaceTokens(AccessTokens(client: ["new"]))
        #expect(await h.send("GET", "/stats", headers: bearer("old")).status == 401)
        #expect(await h.send("GET", "/stats", headers: bearer("new")).status == 200)
        #expect(await h.send("GET", "/stats", headers: ["authorization": "bEaReR   new"]).status == 200)
    }

    @Test func aTokenFileIsReadWholeOrRefused() throws {
        let tokens = try AccessTokens.parse(
            file: "# rotation in progress\nclient  old-one\r\n\n\tclient new-one\nworker w-1\nmetrics m-1\n")
        #expect(tokens == AccessTokens(client: ["old-one", "new-one"], worker: ["w-1"], metrics: ["m-1"]))
        for (text, line) in [
            ("client a\nadmin b\n", 2), ("client a b\n", 1), ("worker\n", 1), ("client caf\u{e9}\n", 1),
        ] {
            #expect(throws: AccessTokens.FileError.self) { try AccessTokens.parse(file: text) }
            do {
                _ = try AccessTokens.parse(file: text)
            } catch {
                #expect(error.line == line, "\(text)")
            }
        }
        #expect(try AccessTokens.parse(file: "# nothing\n").isEnabled == false)
    }

    @Test func tokensCompareExactlyOverEveryLength() {
        var random = SplitMix(seed: 7)
        for _ in 0..<2_000 {
            let length = Int(random.next() % 12)
            let token = String(
                (0..<max(1, length)).map { _ in Character(UnicodeScalar(UInt8(97 + random.next() % 3))) })
            let other = String(
                (0..<Int(random.next() % 12)).map { _ in Character(UnicodeScalar(UInt8(97 + random.next() % 3))) })
            let tokens = AccessTokens(client: [token])
            #expect(tokens.admits(other.utf8, as: .client) == (token == other), "\(token) vs \(other)")
            #expect(tokens.admits(other.utf8, as: .worker) == false)
        }
    }
}

/// A remote worker's registration secret: only the worker that registered may report for it or make it leave.
@Suite struct WorkerSecretTests {
    let register = #"{"name":"real","functions":["g"],"capacity":2,"lease_s":10}"#

    @Test func registrationAnswersTheSecretOnceAndListsNeverShowIt() async throws {
        let h = try GatewayHarness()
        let response = await h.send("POST", "/workers", json: register)
        #expect(response.status == 201)
        let id = try #require(response.object["id"] as? String)
        let secret = try #require(response.object["secret"] as? String)
        #expect(secret.count == 32 && secret.allSatisfy(\.isHexDigit))
        #expect(secret == h.gateway.workerSecret(of: try #require(WorkerID(id))))
        let other = await h.send("POST", "/workers", json: register).object["secret"] as? String
        #expect(other != secret, "each registration has its own secret")
        #expect(await h.send("GET", "/workers/\(id)").object["secret"] == nil)
        let listed = await h.send("GET", "/workers").object["workers"] as? [[String: Any]] ?? []
        #expect(!listed.isEmpty && listed.allSatisfy { $0["secret"] == nil })
    }

    @Test func aForgedReportOrLeaveIsRefusedAndChangesNothing() async throws {
        let h = try GatewayHarness()
        let id = try #require(await h.send("POST", "/workers", json: register).object["id"] as? String)
        let task = try #require(
            await h.send("POST", "/tasks", json: #"{"function":"g","args":1}"#).object["id"] as? String)
        let handed = await h.send("POST", "/workers/\(id)/poll", json: "{}")
        #expect((handed.object["tasks"] as? [[String: Any]])?.first?["id"] as? String == task)

        let forgedBody = #"{"results":[{"id":"\#(task)","result":"FORGED"}]}"#
        for secret in ["", "0123456789abcdef0123456789abcdef", "wrong"] {
            let forged = await h.send(
                "POST", "/workers/\(id)/poll", headers: ["taskgate-worker-secret": secret], json: forgedBody)
            #expect(forged.status == 403)
            #expect(forged.object["code"] as? String == "worker_secret_mismatch")
        }
        let leave = await h.send("DELETE", "/workers/\(id)", headers: ["taskgate-worker-secret": "wrong"])
        #expect(leave.status == 403)
        #expect(await h.send("GET", "/tasks/\(task)").object["state"] as? String == "running")

        let real = await h.send(
            "POST", "/workers/\(id)/poll", json: #"{"results":[{"id":"\#(task)","result":"real"}]}"#)
        #expect(real.status == 200)
        #expect((real.object["refused"] as? [Any])?.isEmpty == true)
        #expect(await h.send("GET", "/tasks/\(task)").object["result"] as? String == "real")
    }

    @Test func anUnknownWorkerIsStill404SoItRegistersAgain() async throws {
        let h = try GatewayHarness()
        let response = await h.send(
            "POST", "/workers/w999999/poll", headers: ["taskgate-worker-secret": "from-an-earlier-run"], json: "{}")
        #expect(response.status == 404)
        #expect(response.object["code"] as? String == "unknown_worker")
    }
}
