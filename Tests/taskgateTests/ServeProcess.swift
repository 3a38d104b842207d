import TaskGateTesting
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// `taskgate serve ARGUMENTS --port 0` as a child process with a client for its URL, or nil (with an issue recorded)
/// when it did not start listening.
func startServe(_ arguments: [String], connections: Int) async throws -> (TestProcess, TestHTTPClient)? {
    let process = try TestProcess(taskgate: ["serve", "--port", "0"] + arguments)
    guard await process.waitForStdout("\n") else {
        Issue.record("serve exited before listening: \(process.stderr)")
        return nil
    }
    let line = String(process.stdout.prefix { $0 != "\n" })
    guard let match = line.wholeMatch(of: /listening on (http:\/\/127\.0\.0\.1:\d+)/) else {
        Issue.record("unexpected first line: \(line)")
        process.signal(SIGKILL)
        return nil
    }
    return (process, TestHTTPClient(baseURL: String(match.1), connections: connections))
}

/// Asks `/stats` (a round trip each time) until its `key` reads `value`, for at most 30 s; returns the last reading.
func awaitStat(_ client: TestHTTPClient, _ key: String, equals value: Int) async throws -> Int {
    let deadline = ContinuousClock.now + .seconds(30)
    var reading = try await client.request("GET", "/stats").json[key] as? Int ?? 0
    while reading != value && ContinuousClock.now < deadline {
        reading = try await client.request("GET", "/stats").json[key] as? Int ?? 0
    }
    return reading
}
