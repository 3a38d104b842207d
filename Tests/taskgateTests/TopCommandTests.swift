import Foundation
import TaskGateTesting
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// `taskgate top` in a real terminal: tmux runs it, the test types keys (`send-keys`) and reads the screen
/// (`capture-pane`). Each test has a tmux server of its own, killed at the end whatever happens.
@Suite struct TopCommandTests {
    /// A tmux server on a socket of its own.
    struct Tmux {
        let socket = "taskgate-test-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"

        /// Runs a tmux command through `sh` and returns its status and what it printed. Spawned and reaped here
        /// (`posix_spawn`, `waitpid` on its pid): the tmux client that starts the server daemonizes, which
        /// Foundation's process monitoring did not survive. Its output goes to a file, not a pipe, which the server
        /// would inherit and hold open.
        @discardableResult
        func run(_ arguments: [String]) async throws -> (status: Int32, output: String) {
            let file = NSTemporaryDirectory() + "\(socket)-\(UInt32.random(in: 0...UInt32.max)).out"
            defer { try? FileManager.default.removeItem(atPath: file) }
            let quoted = (["tmux", "-L", socket] + arguments).map {
                "'" + $0.replacingOccurrences(of: "'", with: "'\\''") + "'"
            }
            let script = quoted.joined(separator: " ") + " >'\(file)' 2>&1 </dev/null"
            var pid: pid_t = 0
            let argv: [UnsafeMutablePointer<CChar>?] =
                ["/bin/sh", "-c", script].map { (text: String) in strdup(text) } + [nil]
            defer { argv.forEach { free($0) } }
            guard posix_spawn(&pid, "/bin/sh", nil, nil, argv, environ) == 0 else {
                throw CocoaError(.executableLoad)
            }
            let child = pid
            let status = await withCheckedContinuation { (done: CheckedContinuation<Int32, Never>) in
                let waiter = Thread {
                    var status: Int32 = 0
                    while waitpid(child, &status, 0) == -1 && errno == EINTR {}
                    done.resume(returning: status)
                }
                waiter.start()
            }
            return (status, (try? String(contentsOfFile: file, encoding: .utf8)) ?? "")
        }

        func screen() async throws -> String { try await run(["capture-pane", "-p", "-t", "top"]).output }

        /// Reads the screen until `condition` holds (at most 30 s); returns the last screen.
        func waitForScreen(_ condition: (String) -> Bool) async throws -> String {
            let deadline = ContinuousClock.now + .seconds(30)
            var last = try await screen()
            while !condition(last) && ContinuousClock.now < deadline {
                try await Task.sleep(for: .milliseconds(100))
                last = try await screen()
            }
            return last
        }

        func kill() async { _ = try? await run(["kill-server"]) }
    }

    @Test func topShowsTheWorkAsItHappensAndQuitsOnQ() async throws {
        guard (try? await Tmux().run(["-V"]).status) == 0 else {
            Issue.record("tmux is missing: apt-get install -y tmux (make test installs it)")
            return
        }
        guard let (server, client) = try await startServe(["--durability", "memory", "--workers", "2"], connections: 4)
        else { return }
        let tmux = Tmux()
        do {
            try await watchTop(tmux, client)
        } catch {
            Issue.record("top in tmux: \(error)")
        }
        await tmux.kill()
        server.signal(SIGKILL)
        _ = await server.waitForExit()
        try? await client.shutdown()
    }

    func watchTop(_ tmux: Tmux, _ client: TestHTTPClient) async throws {
        let command =
            "\(TestProcess.taskgate.path) top --url \(client.baseURL) --interval 0.3; echo TOP-EXIT=$?; sleep 60"
        try await tmux.run(["new-session", "-d", "-s", "top", "-x", "132", "-y", "40", command])
        let first = try await tmux.waitForScreen { $0.contains("(no tasks yet)") && $0.contains("in-process-1") }
        #expect(first.contains("taskgate \(client.baseURL)"), "\(first)")
        #expect(first.contains("load 0/2 slots"), "\(first)")

        // Work appears: a running sleep task, and a failure with its reason. The sleep outlasts the test (a busy
        // machine may take longer than a short one to show it running); the server's stop cancels it.
        _ = try await client.post("/tasks", json: #"{"function":"sleep","args":{"seconds":300}}"#)
        _ = try await client.post(
            "/tasks", json: #"{"function":"fail","args":"on purpose"}"#, headers: ["Prefer": "wait=5"])
        let busy = try await tmux.waitForScreen {
            $0.contains("on purpose") && $0.range(of: #"sleep\s+0\s+1\s+1"#, options: .regularExpression) != nil
        }
        #expect(busy.range(of: #"sleep\s+0\s+1\s+1"#, options: .regularExpression) != nil, "\(busy)")
        #expect(busy.contains("function_error  on purpose"), "\(busy)")
        #expect(busy.contains("load 1/2 slots"), "\(busy)")

        // Keys: + doubles the interval, q quits with status 0 and gives the terminal back.
        try await tmux.run(["send-keys", "-t", "top", "+"])
        let slower = try await tmux.waitForScreen { $0.contains("refresh 0.6s") }
        #expect(slower.contains("refresh 0.6s"), "\(slower)")
        try await tmux.run(["send-keys", "-t", "top", "q"])
        let after = try await tmux.waitForScreen { $0.contains("TOP-EXIT=") }
        #expect(after.contains("TOP-EXIT=0"), "\(after)")
        #expect(!after.contains("RECENT FAILURES"), "the alternate screen was not left: \(after)")
    }

    @Test func statusPrintsOneScreenAndExits() async throws {
        guard let (server, client) = try await startServe(["--durability", "memory", "--workers", "1"], connections: 4)
        else { return }
        defer { server.signal(SIGKILL) }
        for _ in 0..<3 {
            _ = try await client.post("/tasks", json: #"{"function":"echo"}"#, headers: ["Prefer": "wait=5"])
        }
        let status = try TestProcess(taskgate: [
            "status", "--url", client.baseURL, "--interval", "0.2", "--width", "200",
        ])
        #expect(await status.finish() == 0, "\(status.stderr)")
        let text = status.stdout
        #expect(text.range(of: #"echo\s+0\s+0\s+3\s+3\s+0\s+0"#, options: .regularExpression) != nil, "\(text)")
        #expect(text.contains("finished: 3 succeeded") && text.contains("in-process-1"), "\(text)")
        let unreachable = try TestProcess(taskgate: ["status", "--url", "http://127.0.0.1:1", "--interval", "0"])
        #expect(await unreachable.finish() != 0)
        #expect(!unreachable.stderr.isEmpty)
        try? await client.shutdown()
    }
}
