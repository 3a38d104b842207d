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

    /// Makes a new key and certificate.
    public init() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("taskgate-tls-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/openssl")
        process.arguments = [
            "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-days", "2",
            "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost",
            "-keyout", directory.appendingPathComponent("key.pem").path,
            "-out", directory.appendingPathComponent("cert.pem").path,
        ]
        process.standardOutput = FileHandle.nullDevice
        let errors = Pipe()
        process.standardError = errors
        try process.run()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            let detail = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            throw TestProcessError("openssl could not make a test certificate: \(detail)")
        }
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
