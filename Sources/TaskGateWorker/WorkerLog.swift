import Synchronization

/// Log lines of the task a handler is running, sent with its report and kept with the task on the server
/// (`GET /tasks/{id}/logs`). `taskgate worker --exec` sends the tail of each command's stderr this way.
public enum WorkerLog {
    /// The lines of the run in progress (bound to the handler's Swift task).
    @TaskLocal static var current: Buffer?

    /// Adds a line (or several, separated by newlines) to the running task's log; outside a handler it is dropped.
    /// A run keeps its last 64 KiB of lines.
    public static func write(_ line: String) {
        current?.append(line)
    }

    /// One run's lines, bounded: the latest `maxBytes`.
    final class Buffer: Sendable {
        static let maxBytes = 64 * 1_024
        private let state = Mutex<(lines: [String], bytes: Int)>(([], 0))

        func append(_ line: String) {
            state.withLock { state in
                state.lines.append(line)
                state.bytes += line.utf8.count
                var drop = 0
                while state.bytes > Self.maxBytes, drop < state.lines.count - 1 {
                    state.bytes -= state.lines[drop].utf8.count
                    drop += 1
                }
                state.lines.removeFirst(drop)
            }
        }

        var lines: [String] { state.withLock { $0.lines } }
    }
}
