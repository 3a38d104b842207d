import Foundation

/// A self-signed certificate for 127.0.0.1 and localhost, made for one test with the `openssl` command (Debian's
/// `openssl` package, which `make` installs): an EC P-256 key, valid for two days. Files in a directory of their own,
/// removed by `remove()`.
public struct TestCertificate: Sendable {
    /// The directory holding the files.
    public let directory: URL
    /// The certificate, PEM (also the CA file a client trusts).
    public var certificatePath: String { directory.appendingPathComponent("cert.pem").path }
    /// The private key, PEM.
    public var keyPath: String { directory.appendingPathComponent("key.pem").path }

    /// Makes a new key and certificate (openssl runs as a `TestProcess`: nothing blocks a Swift concurrency thread).
    public static func make() async throws -> TestCertificate {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent(
            "taskgate-tls-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let openssl = try TestProcess(
            executable: URL(fileURLWithPath: "/usr/bin/openssl"),
            arguments: [
                "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-days", "2",
                "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost",
                "-keyout", directory.appendingPathComponent("key.pem").path,
                "-out", directory.appendingPathComponent("cert.pem").path,
            ])
        guard await openssl.finish() == 0 else {
            try? FileManager.default.removeItem(at: directory)
            throw TestProcessError("openssl could not make a test certificate: \(openssl.stderr)")
        }
        return TestCertificate(directory: directory)
    }

    private init(directory: URL) {
        self.directory = directory
    }

    /// The PEM texts, for `HTTPServer.Configuration.tls`.
    public func pem() throws -> (certificate: String, key: String) {
        (
            try String(contentsOfFile: certificatePath, encoding: .utf8),
            try String(contentsOfFile: keyPath, encoding: .utf8)
        )
    }

    /// Removes the files.
    public func remove() {
        try? FileManager.default.removeItem(at: directory)
    }
}
