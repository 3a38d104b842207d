import Foundation
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// A command started for one task in its own process group, with the args on its stdin and only the environment it
/// is given. One thread per child feeds stdin and drains stdout and stderr (so neither pipe can fill up and stall
/// it), then reaps it. The group dies with this process (see `script`).
final class ChildProcess: Sendable {
    /// How the process ended and what it wrote.
    struct Exit: Sendable {
        enum Status: Sendable, Equatable {
            case exited(Int32)
            case signaled(Int32)
        }
        var status: Status
        var stdout: [UInt8]
        /// The last bytes of stderr.
        var stderrTail: [UInt8]
        /// Stdout went past the limit and was cut.
        var stdoutTruncated: Bool
    }

    struct SpawnError: Error, CustomStringConvertible {
        var description: String
    }

    private struct State {
        var exit: Exit?
        var waiter: CheckedContinuation<Exit, Never>?
    }

    /// The child's pid, which is also its process group id.
    let pid: pid_t
    private let state = Mutex(State())

    /// The shell script every command runs under, as the leader of its own process group. `$1` is the command. A
    /// guard in the background blocks reading fd 3, the read end of this process's lifeline: it reads end-of-file
    /// only when every write end is closed, that is when this worker process is gone, however it died (SIGKILL
    /// included). It then kills the whole group, so a command never outlives its worker and cannot run its side
    /// effects twice when the task is run again elsewhere. When the command ends first, the guard is stopped.
    static let script = """
        ( read -r _ <&3; kill -KILL 0 ) &
        guard=$!
        /bin/sh -c "$1" taskgate-exec 3<&-
        status=$?
        kill "$guard" 2>/dev/null
        exit "$status"
        """

    /// The read end of the lifeline (see `script`), a socket pair made close-on-exec atomically: its other end stays
    /// open in this process only (a child gets the read end as fd 3 through dup2; no child ever gets the other end).
    static let lifeline: Int32 = {
        var fds: [Int32] = [-1, -1]
        guard socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0, &fds) == 0 else {
            return -1
        }
        return fds[0]
    }()

    /// Starts `command` under `script` with `input` on stdin and exactly `environment` as its environment.
    init(
        command: String, input: [UInt8], environment: [String: String], maxOutput: Int, stderrTail: Int
    ) throws {
        let lifeline = Self.lifeline
        guard lifeline >= 0 else { throw SpawnError(description: "cannot create the worker's lifeline pipe") }
        var stdinPipe: [Int32] = [-1, -1]
        var stdoutPipe: [Int32] = [-1, -1]
        var stderrPipe: [Int32] = [-1, -1]
        guard Self.pipe(&stdinPipe) else { throw SpawnError(description: "pipe: \(errno)") }
        guard Self.pipe(&stdoutPipe) else {
            close(stdinPipe[0])
            close(stdinPipe[1])
            throw SpawnError(description: "pipe: \(errno)")
        }
        guard Self.pipe(&stderrPipe) else {
            for fd in stdinPipe + stdoutPipe { close(fd) }
            throw SpawnError(description: "pipe: \(errno)")
        }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_adddup2(&actions, stdinPipe[0], 0)
        posix_spawn_file_actions_adddup2(&actions, stdoutPipe[1], 1)
        posix_spawn_file_actions_adddup2(&actions, stderrPipe[1], 2)
        // Nothing else of this process leaks into the command: not its sockets, not descriptors it inherited.
        for fd in Self.inheritableDescriptors() where fd > 2 {
            posix_spawn_file_actions_addclose(&actions, fd)
        }
        // Last, after the closes: the lifeline's read end as fd 3 (dup2 clears its close-on-exec flag).
        posix_spawn_file_actions_adddup2(&actions, lifeline, 3)
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        // Its own process group (so a cancel reaches everything it starts), no blocked signals, and default
        // handling of the signals this process ignores or handles (ignored signals survive exec).
        posix_spawnattr_setpgroup(&attributes, 0)
        var noSignals = sigset_t()
        sigemptyset(&noSignals)
        posix_spawnattr_setsigmask(&attributes, &noSignals)
        var defaults = sigset_t()
        sigemptyset(&defaults)
        for signal in [SIGTERM, SIGINT, SIGPIPE, SIGHUP, SIGQUIT, SIGCHLD] { sigaddset(&defaults, signal) }
        posix_spawnattr_setsigdefault(&attributes, &defaults)
        posix_spawnattr_setflags(
            &attributes, Int16(POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))

        let arguments = ["/bin/sh", "-c", Self.script, "taskgate-exec", command]
        let argv: [UnsafeMutablePointer<CChar>?] = arguments.map { strdup($0) } + [nil]
        let envp: [UnsafeMutablePointer<CChar>?] = environment.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer {
            for pointer in argv { free(pointer) }
            for pointer in envp { free(pointer) }
        }
        var spawnedPID: pid_t = 0
        let spawned = posix_spawn(&spawnedPID, "/bin/sh", &actions, &attributes, argv, envp)
        let pid = spawnedPID
        close(stdinPipe[0])
        close(stdoutPipe[1])
        close(stderrPipe[1])
        guard spawned == 0 else {
            close(stdinPipe[1])
            close(stdoutPipe[0])
            close(stderrPipe[0])
            throw SpawnError(description: "posix_spawn /bin/sh: \(String(cString: strerror(spawned)))")
        }
        self.pid = pid
        let io = (stdin: stdinPipe[1], stdout: stdoutPipe[0], stderr: stderrPipe[0])
        let thread = Thread { [self] in
            let exit = Self.pump(
                pid: pid, io: io, input: input, maxOutput: maxOutput, stderrTail: stderrTail)
            let waiter = state.withLock { state -> CheckedContinuation<Exit, Never>? in
                state.exit = exit
                defer { state.waiter = nil }
                return state.waiter
            }
            waiter?.resume(returning: exit)
        }
        thread.name = "taskgate-child-\(pid)"
        thread.start()
    }

    /// A pipe whose ends close on exec (the child gets its ends through dup2, which clears the flag).
    private static func pipe(_ fds: inout [Int32]) -> Bool {
        guard Glibc.pipe(&fds) == 0 else { return false }
        for fd in fds { _ = fcntl(fd, F_SETFD, FD_CLOEXEC) }
        return true
    }

    /// The open descriptors of this process that an exec would keep (no close-on-exec flag).
    private static func inheritableDescriptors() -> [Int32] {
        guard let entries = try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd") else { return [] }
        return entries.compactMap(Int32.init).filter { fd in
            let flags = fcntl(fd, F_GETFD)
            return flags >= 0 && flags & FD_CLOEXEC == 0
        }
    }

    /// Waits for the child to exit and its output to close.
    func wait() async -> Exit {
        await withCheckedContinuation { continuation in
            let exit = state.withLock { state -> Exit? in
                if let exit = state.exit { return exit }
                state.waiter = continuation
                return nil
            }
            if let exit { continuation.resume(returning: exit) }
        }
    }

    /// Whether the child has exited and been reaped.
    var hasExited: Bool { state.withLock { $0.exit != nil } }

    /// Sends `signal` to the child's whole process group.
    func signalGroup(_ signal: Int32) {
        _ = kill(-pid, signal)
    }

    /// SIGTERM to the group now, SIGKILL to the group after `grace` if anything of it is still there.
    func terminate(grace: Duration) {
        signalGroup(SIGTERM)
        Task.detached { [self] in
            try? await Task.sleep(for: grace)
            // Also when the leader is gone: something it started may still hold the group (and its pipes).
            signalGroup(SIGKILL)
        }
    }

    /// Feeds stdin, drains stdout and stderr until both close, then reaps the child.
    private static func pump(
        pid: pid_t, io: (stdin: Int32, stdout: Int32, stderr: Int32), input: [UInt8], maxOutput: Int, stderrTail: Int
    ) -> Exit {
        var stdinFD: Int32 = input.isEmpty ? -1 : io.stdin
        if input.isEmpty { close(io.stdin) }
        var written = 0
        var stdout: [UInt8] = []
        var stderr: [UInt8] = []
        var truncated = false
        var open = (stdout: true, stderr: true)
        var buffer = [UInt8](repeating: 0, count: 65_536)
        _ = fcntl(io.stdin, F_SETFL, fcntl(io.stdin, F_GETFL) | O_NONBLOCK)
        while open.stdout || open.stderr || stdinFD >= 0 {
            var fds = [
                pollfd(fd: open.stdout ? io.stdout : -1, events: Int16(POLLIN), revents: 0),
                pollfd(fd: open.stderr ? io.stderr : -1, events: Int16(POLLIN), revents: 0),
                pollfd(fd: stdinFD, events: Int16(POLLOUT), revents: 0),
            ]
            guard poll(&fds, 3, -1) >= 0 || errno == EINTR else { break }
            for (index, fd) in [io.stdout, io.stderr].enumerated() where fds[index].revents != 0 {
                let count = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
                if count <= 0 {
                    if count < 0 && (errno == EINTR || errno == EAGAIN) { continue }
                    close(fd)
                    if index == 0 { open.stdout = false } else { open.stderr = false }
                    continue
                }
                if index == 0 {
                    if stdout.count + count > maxOutput {
                        truncated = true
                    } else {
                        stdout.append(contentsOf: buffer[0..<count])
                    }
                } else {
                    stderr.append(contentsOf: buffer[0..<count])
                    if stderr.count > 2 * stderrTail { stderr.removeFirst(stderr.count - stderrTail) }
                }
            }
            if stdinFD >= 0 && fds[2].revents != 0 {
                let count = input.withUnsafeBytes { bytes in
                    write(stdinFD, bytes.baseAddress! + written, bytes.count - written)
                }
                if count > 0 { written += count }
                if count < 0 && errno != EAGAIN && errno != EINTR || written == input.count {
                    // Done, or the child closed its stdin (EPIPE): either way no more input.
                    close(stdinFD)
                    stdinFD = -1
                }
            }
        }
        if stdinFD >= 0 { close(stdinFD) }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        let exitStatus: Exit.Status =
            status & 0x7f == 0 ? .exited((status >> 8) & 0xff) : .signaled(status & 0x7f)
        return Exit(
            status: exitStatus, stdout: stdout, stderrTail: Array(stderr.suffix(stderrTail)),
            stdoutTruncated: truncated)
    }
}
