import Foundation
import TaskGateTesting
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// HTTPS end to end, each side its own process: `taskgate serve --tls-cert --tls-key` (libmicrohttpd's TLS),
/// `taskgate worker` and `taskgate submit` with `--ca-file` (swift-nio-ssl in the client and the worker runtime),
/// with a self-signed certificate made for the test.
@Suite(.timeLimit(.minutes(2))) struct TLSCommandTests {
    /// `taskgate serve` over HTTPS and its `https://` URL, or nil (with an issue recorded) if it did not start.
    static func serve(_ certificate: TestCertificate) async throws -> (TestProcess, String)? {
        let server = try TestProcess(taskgate: [
            "serve", "--durability", "memory", "--port", "0", "--workers", "0", "--tls-cert",
            certificate.certificatePath, "--tls-key",
            certificate.keyPath,
        ])
        guard await server.waitForStdout("\n") else {
            Issue.record("serve exited before listening: \(server.stderr)")
            return nil
        }
        let firstLine = String(server.stdout.prefix { $0 != "\n" })
        let match = try #require(firstLine.wholeMatch(of: /listening on (https:\/\/127\.0\.0\.1:\d+)/))
        return (server, String(match.1))
    }

    @Test func aWorkerAndTheCLISpeakHTTPSWithTheServersCA() async throws {
        let certificate = try await TestCertificate.make()
        defer { certificate.remove() }
        guard let (server, url) = try await Self.serve(certificate) else { return }
        defer { server.signal(SIGKILL) }
        let worker = try TestProcess(taskgate: [
            "worker", "--connect", url, "--ca-file", certificate.certificatePath, "--exec", "tls.echo=cat",
        ])
        defer { worker.signal(SIGKILL) }
        #expect(await worker.waitForStderr("worker registered"), "\(worker.stderr)")
        for host in [url, url.replacingOccurrences(of: "127.0.0.1", with: "localhost")] {
            let submit = try TestProcess(taskgate: [
                "submit", "--url", host, "--ca-file", certificate.certificatePath, "tls.echo", #"{"over":"tls"}"#,
                "--wait", "20",
            ])
            #expect(await submit.finish() == 0, "\(submit.stderr)")
            #expect(submit.stdout.contains(#""result":{"over":"tls"}"#), "\(submit.stdout)")
            #expect(submit.stdout.contains(#""state":"succeeded""#))
        }
        worker.signal(SIGTERM)
        server.signal(SIGTERM)
        #expect(await server.waitForExit(within: .seconds(30)) == 0)
    }

    @Test func aServerWhoseCertificateIsNotTrustedIsRefused() async throws {
        let certificate = try await TestCertificate.make()
        let other = try await TestCertificate.make()
        defer {
            certificate.remove()
            other.remove()
        }
        guard let (server, url) = try await Self.serve(certificate) else { return }
        defer { server.signal(SIGKILL) }
        for caFlags in [[], ["--ca-file", other.certificatePath]] {
            let submit = try TestProcess(taskgate: ["submit", "--url", url] + caFlags + ["echo", "1"])
            #expect(await submit.finish() != 0, "trusting \(caFlags): \(submit.stdout)")
            #expect(submit.stderr.contains("CERTIFICATE_VERIFY_FAILED"), "\(submit.stderr)")
        }
        let plain = try TestProcess(taskgate: [
            "submit", "--url", url.replacingOccurrences(of: "https://", with: "http://"), "echo", "1",
        ])
        #expect(await plain.finish() != 0, "plain HTTP to the TLS port gets no answer: \(plain.stdout)")
        let unreadable = try TestProcess(taskgate: [
            "submit", "--url", url, "--ca-file", "/nonexistent/ca.pem", "echo", "1",
        ])
        #expect(await unreadable.finish() != 0)
        #expect(unreadable.stderr.contains("invalid_configuration") || unreadable.stderr.contains("CA file"))

    }
}
