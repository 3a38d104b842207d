import Foundation
import Logging
import TaskGateClient
import TaskGateHTTP
import TaskGateTesting
import TaskGateWorker
import Testing

/// HTTPS end to end: libmicrohttpd's TLS on the server, swift-nio-ssl in the client and the worker runtime, with a
/// self-signed certificate made for the test.
@Suite(.timeLimit(.minutes(2))) struct TLSTests {
    @Test func theClientAndAWorkerSpeakHTTPSWithTheServersCA() async throws {
        let certificate = try TestCertificate()
        defer { certificate.remove() }
        let pem = try certificate.pem()
        try await withLiveServer(
            slots: 0, server: { $0.tls = .init(certificatePEM: pem.certificate, keyPEM: pem.key) }
        ) { server, _ in
            #expect(server.baseURL.hasPrefix("https://"))
            var handlers = WorkerHandlers()
            handlers.register("tls.echo") { task in task.args }
            var workerConfiguration = TaskGateWorker.Configuration(baseURL: server.baseURL)
            workerConfiguration.caFile = certificate.certificatePath
            let worker = TaskGateWorker(
                configuration: workerConfiguration, handlers: handlers,
                logger: Logger(label: "tls") { _ in SwiftLogNoOpLogHandler() })
            let running = Task { try await worker.run() }
            defer { running.cancel() }
            _ = await worker.registered()

            var secure = TaskGateClient.Configuration(baseURL: server.baseURL)
            secure.caFile = certificate.certificatePath
            let client = TaskGateClient(configuration: secure)
            let future = try await client.submit(function: "tls.echo", args: ["over": "tls"])
            #expect(try await future.result() == ["over": "tls"])
            try await client.shutdown()
            // The same server through `localhost`: the certificate names it too.
            var byName = TaskGateClient.Configuration(baseURL: "https://localhost:\(server.port)")
            byName.caFile = certificate.certificatePath
            let named = TaskGateClient(configuration: byName)
            #expect(try await named.submit(function: "tls.echo", args: 7).result() == 7)
            try await named.shutdown()
            running.cancel()
            _ = await running.result
        }
    }

    @Test func aServerWhoseCertificateIsNotTrustedIsRefused() async throws {
        let certificate = try TestCertificate()
        let other = try TestCertificate()
        defer {
            certificate.remove()
            other.remove()
        }
        let pem = try certificate.pem()
        try await withLiveServer(server: { $0.tls = .init(certificatePEM: pem.certificate, keyPEM: pem.key) }) {
            server, _ in
            for caFile in [nil, other.certificatePath] {
                var configuration = TaskGateClient.Configuration(baseURL: server.baseURL)
                configuration.caFile = caFile
                configuration.retryTimeout = .milliseconds(200)
                let client = TaskGateClient(configuration: configuration)
                await #expect(throws: TaskGateError.self) { _ = try await client.submit(function: "echo", args: 1) }
                try await client.shutdown()
            }
            // Plain HTTP to the TLS port gets no answer a client could take for one.
            let plain = TaskGateClient(baseURL: "http://127.0.0.1:\(server.port)")
            await #expect(throws: TaskGateError.self) { _ = try await plain.submit(function: "echo", args: 1) }
            try await plain.shutdown()
            #expect(server.scheduler.stats.counters.submitted == 0)
        }
    }

    @Test func anUnreadableCAFileIsAConfigurationError() async throws {
        var configuration = TaskGateClient.Configuration(baseURL: "https://127.0.0.1:1")
        configuration.caFile = "/nonexistent/ca.pem"
        let client = TaskGateClient(configuration: configuration)
        await #expect(throws: TaskGateError.invalidConfiguration) { _ = try await client.submit(function: "echo") }
        try await client.shutdown()
    }
}
