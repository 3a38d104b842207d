/// Who may call what: bearer tokens by role. Auth is on when any token is configured; then every route but the
/// probes (`/healthz`, `/readyz`) needs `Authorization: Bearer <token>` of a role it admits, and a role with no token
/// configured is closed to everyone (in-process workers do not go through HTTP and are unaffected).
public struct AccessTokens: Sendable, Equatable {
    /// What a token admits.
    public enum Role: String, Sendable, CaseIterable {
        /// The tasks API (`/tasks…`, `/stats`), `/metrics` and reading the workers list.
        case client
        /// The worker API: register, poll, leave (and reading the workers list).
        case worker
        /// `/metrics` only: for a scraper (Prometheus, KEDA) that must not read or change tasks.
        case metrics
    }

    /// Tokens admitting the tasks API.
    public var client: [String]
    /// Tokens admitting the worker API.
    public var worker: [String]
    /// Tokens admitting `/metrics` only.
    public var metrics: [String]

    /// No token: auth off.
    public init(client: [String] = [], worker: [String] = [], metrics: [String] = []) {
        self.client = client
        self.worker = worker
        self.metrics = metrics
    }

    /// True when any token is configured.
    public var isEnabled: Bool { !client.isEmpty || !worker.isEmpty || !metrics.isEmpty }

    /// The tokens of `role`.
    public func tokens(of role: Role) -> [String] {
        switch role {
        case .client: client
        case .worker: worker
        case .metrics: metrics
        }
    }

    /// True when `presented` equals one of `role`'s tokens. Every configured token of the role is compared, each in
    /// time that depends only on the lengths, so the answer's timing does not say how much of a token matched.
    public func admits(_ presented: some Collection<UInt8>, as role: Role) -> Bool {
        let bytes = Array(presented)
        return bytes.withUnsafeBufferPointer { admits(bytes: $0, as: role) }
    }

    /// `admits` on the presented token's bytes, as the request path has them.
    func admits(bytes presented: UnsafeBufferPointer<UInt8>, as role: Role) -> Bool {
        var matched = false
        for token in tokens(of: role) {
            var token = token
            if token.withUTF8({ Self.constantTimeEqual($0, presented) }) { matched = true }
        }
        return matched
    }

    /// Byte equality over the longer of the two lengths, without an early exit.
    static func constantTimeEqual(_ left: UnsafeBufferPointer<UInt8>, _ right: UnsafeBufferPointer<UInt8>) -> Bool {
        var difference = UInt(bitPattern: left.count ^ right.count)
        for index in 0..<max(left.count, right.count) {
            let a: UInt8 = index < left.count ? left[index] : 0
            let b: UInt8 = index < right.count ? right[index] : 0
            difference |= UInt(a ^ b)
        }
        return difference == 0
    }

    /// `constantTimeEqual` of two strings' UTF-8 bytes.
    static func constantTimeEqual(_ left: String, _ right: String) -> Bool {
        var left = left
        var right = right
        return left.withUTF8 { left in right.withUTF8 { constantTimeEqual(left, $0) } }
    }

    /// The token of an `Authorization: Bearer <token>` header (the scheme is case-insensitive, RFC 9110 11.1), or
    /// nil when the header is of another form: a slice of `header`.
    static func bearerToken(_ header: UnsafeBufferPointer<UInt8>) -> UnsafeBufferPointer<UInt8>? {
        let scheme: StaticString = "bearer "
        guard header.count > scheme.utf8CodeUnitCount else { return nil }
        // "bearer " compared on bytes, ASCII letters folded to lower case.
        for index in 0..<scheme.utf8CodeUnitCount where header[index] | 0x20 != scheme.utf8Start[index] {
            return nil
        }
        var start = scheme.utf8CodeUnitCount
        while start < header.count, header[start] == UInt8(ascii: " ") { start += 1 }
        let token = UnsafeBufferPointer(rebasing: header[start...])
        guard !token.isEmpty, !token.contains(UInt8(ascii: " ")) else { return nil }
        return token
    }

    /// A token is 1 to 4096 visible ASCII characters (the RFC 6750 `b64token` alphabet and more; no spaces).
    public static func isValidToken(_ token: String) -> Bool {
        !token.isEmpty && token.utf8.count <= 4_096 && token.utf8.allSatisfy { (0x21...0x7E).contains($0) }
    }

    /// Why a token file was refused.
    public struct FileError: Error, Sendable, CustomStringConvertible {
        /// The 1-based line.
        public var line: Int
        /// What is wrong with it.
        public var reason: String

        public var description: String { "line \(line): \(reason)" }
    }

    /// Reads a token file: one `<role> <token>` per line (`client`, `worker` or `metrics`), blank lines and lines starting with
    /// `#` ignored. Refuses the whole file on any bad line, so a typo never silently drops a token.
    public static func parse(file text: String) throws(FileError) -> AccessTokens {
        var tokens = AccessTokens()
        for (index, rawLine) in text.split(
            omittingEmptySubsequences: false, whereSeparator: { $0 == "\n" || $0 == "\r\n" }
        )
        .enumerated() {
            let line = rawLine.hasSuffix("\r") ? rawLine.dropLast() : rawLine
            let trimmed = line.drop { $0 == " " || $0 == "\t" }
            if trimmed.isEmpty || trimmed.hasPrefix("#") { continue }
            let fields = trimmed.split(whereSeparator: { $0 == " " || $0 == "\t" })
            guard fields.count == 2 else {
                throw FileError(line: index + 1, reason: "expected '<role> <token>', got \(fields.count) fields")
            }
            guard let role = Role(rawValue: String(fields[0])) else {
                throw FileError(line: index + 1, reason: "unknown role; expected client, worker or metrics")
            }
            let token = String(fields[1])
            guard isValidToken(token) else {
                throw FileError(line: index + 1, reason: "a token is 1 to 4096 visible ASCII characters")
            }
            switch role {
            case .client: tokens.client.append(token)
            case .worker: tokens.worker.append(token)
            case .metrics: tokens.metrics.append(token)
            }
        }
        return tokens
    }

    /// These tokens and `other`'s together.
    public func merging(_ other: AccessTokens) -> AccessTokens {
        AccessTokens(client: client + other.client, worker: worker + other.worker, metrics: metrics + other.metrics)
    }
}
