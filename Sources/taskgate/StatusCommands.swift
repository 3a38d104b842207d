import ArgumentParser
import Dispatch
import Foundation
import Synchronization
import TaskGateAPI
import TaskGateClient

#if canImport(Glibc)
    import Glibc
#endif

/// Takes one `StatusScreen.Sample`: `/stats` and `/workers`.
func takeSample(_ client: TaskGateClient) async throws -> StatusScreen.Sample {
    async let stats = client.stats()
    async let workers = client.workers()
    return StatusScreen.Sample(
        stats: try await stats, workers: try await workers, at: Double(DispatchTime.now().uptimeNanoseconds) / 1e9)
}

/// `taskgate status`: one screen, then exits.
struct Status: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Print the server's state once: tasks, throughput and queue depth per function, workers, failures.",
        discussion: """
            Throughput is measured between two readings --interval seconds apart (0 reads once and shows no rates). \
            Needs a client token when auth is on.
            """)

    @OptionGroup var server: ServerOptions

    @Option(help: "Seconds between the two readings that give the rates (default 1; 0 for one reading).")
    var interval: Double = 1

    @Option(help: "Columns to use (default: the terminal's, or 120).")
    var width: Int?

    func run() async throws {
        guard interval >= 0, interval <= 60 else { throw ValidationError("--interval must be 0 to 60 seconds") }
        let url = ServerOptions.clientConfiguration(
            url: server.url, token: server.token, environment: ProcessInfo.processInfo.environment
        ).baseURL
        let size = TerminalSize.current()
        let lines = try await server.withClient { client in
            let first = try await takeSample(client)
            guard interval > 0 else {
                return StatusScreen(server: url, current: first, width: width ?? size?.columns ?? 120, rows: 1_000)
                    .lines
            }
            try await Task.sleep(for: .seconds(interval))
            let second = try await takeSample(client)
            return StatusScreen(
                server: url, current: second, previous: first, width: width ?? size?.columns ?? 120, rows: 1_000
            ).lines
        }
        print(lines.joined(separator: "\n"))
    }
}

/// `taskgate top`: the status screen, redrawn live (like `scaler_top`), until `q` or Ctrl-C.
struct Top: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Show the server's state live, refreshed every --interval seconds; q quits.",
        discussion: "Keys: q quits, + and - change the interval. Needs a client token when auth is on.")

    @OptionGroup var server: ServerOptions

    @Option(help: "Seconds between refreshes (default 1).")
    var interval: Double = 1

    @Option(help: "Stop after this many refreshes (for scripts; default: until q).")
    var count: Int?

    func run() async throws {
        guard interval >= 0.1, interval <= 60 else { throw ValidationError("--interval must be 0.1 to 60 seconds") }
        let url = ServerOptions.clientConfiguration(
            url: server.url, token: server.token, environment: ProcessInfo.processInfo.environment
        ).baseURL
        let terminal = RawTerminal()
        defer { terminal.restore() }
        let keys = KeyReader()
        let stop = SignalFlag([SIGINT, SIGTERM])
        try await server.withClient { client in
            var previous: StatusScreen.Sample?
            var refreshes = 0
            var interval = self.interval
            while !stop.raised && !keys.quit {
                var lines: [String]
                let size = TerminalSize.current() ?? TerminalSize(columns: 120, rows: 40)
                do {
                    let sample = try await takeSample(client)
                    lines =
                        StatusScreen(
                            server: url, current: sample, previous: previous, width: size.columns, rows: size.rows - 1
                        ).lines
                    previous = sample
                } catch {
                    lines = ["taskgate \(url) — \(StatusScreen.clock())", "", "cannot read the server: \(error)"]
                }
                lines.append("")
                lines.append(String(format: "refresh %.1fs — q quits, +/- change the interval", interval))
                terminal.draw(lines)
                refreshes += 1
                if let count, refreshes >= count { break }
                let deadline = ContinuousClock.now + .seconds(interval)
                while ContinuousClock.now < deadline && !stop.raised && !keys.quit {
                    try await Task.sleep(for: .milliseconds(50))
                    switch keys.take() {
                    case UInt8(ascii: "+"): interval = min(60, interval * 2)
                    case UInt8(ascii: "-"): interval = max(0.25, interval / 2)
                    default: break
                    }
                }
            }
        }
    }
}

/// The terminal's size, from `TIOCGWINSZ` on stdout.
struct TerminalSize {
    var columns: Int
    var rows: Int

    static func current() -> TerminalSize? {
        var size = winsize()
        guard ioctl(STDOUT_FILENO, UInt(TIOCGWINSZ), &size) == 0, size.ws_col > 0, size.ws_row > 0 else { return nil }
        return TerminalSize(columns: Int(size.ws_col), rows: Int(size.ws_row))
    }
}

/// Puts a terminal on stdin into raw mode (no echo, key by key) and stdout onto the alternate screen; `restore`
/// gives both back. Does nothing when they are not terminals.
final class RawTerminal {
    private var saved: termios?
    private let screen: Bool

    init() {
        screen = isatty(STDOUT_FILENO) == 1
        if isatty(STDIN_FILENO) == 1 {
            var settings = termios()
            if tcgetattr(STDIN_FILENO, &settings) == 0 {
                saved = settings
                settings.c_lflag &= ~tcflag_t(ICANON | ECHO)
                _ = tcsetattr(STDIN_FILENO, TCSANOW, &settings)
            }
        }
        if screen { write("\u{1B}[?1049h\u{1B}[?25l") }
    }

    /// Replaces the screen's contents with `lines`.
    func draw(_ lines: [String]) {
        let body = lines.map { $0 + "\u{1B}[K" }.joined(separator: "\r\n")
        write(screen ? "\u{1B}[H" + body + "\u{1B}[J" : body + "\n\n")
    }

    func restore() {
        if var saved { _ = tcsetattr(STDIN_FILENO, TCSANOW, &saved) }
        saved = nil
        if screen { write("\u{1B}[?25h\u{1B}[?1049l") }
    }

    private func write(_ text: String) {
        var text = text
        text.withUTF8 { bytes in
            var offset = 0
            while offset < bytes.count {
                let written = Glibc.write(STDOUT_FILENO, bytes.baseAddress! + offset, bytes.count - offset)
                if written <= 0 { return }
                offset += written
            }
        }
    }
}

/// Reads keys from stdin on a thread of its own: `q` sets `quit`, others wait in `take()`. End of input also quits
/// when stdin is a terminal.
final class KeyReader: Sendable {
    private let state = Mutex<(quit: Bool, keys: [UInt8])>((false, []))

    init() {
        let interactive = isatty(STDIN_FILENO) == 1
        let thread = Thread { [self] in
            var byte: UInt8 = 0
            while true {
                let count = read(STDIN_FILENO, &byte, 1)
                if count <= 0 {
                    if interactive { state.withLock { $0.quit = true } }
                    return
                }
                state.withLock { state in
                    if byte == UInt8(ascii: "q") || byte == UInt8(ascii: "Q") { state.quit = true }
                    state.keys.append(byte)
                }
            }
        }
        thread.start()
    }

    var quit: Bool { state.withLock { $0.quit } }

    /// The oldest key not yet taken, or 0.
    func take() -> UInt8 {
        state.withLock { $0.keys.isEmpty ? 0 : $0.keys.removeFirst() }
    }
}

/// Raised once one of `signals` arrives (they no longer end the process; the command ends itself and restores the
/// terminal).
final class SignalFlag: @unchecked Sendable {  // `sources` is set once in init and only kept alive
    private let flag = Atomic<Bool>(false)
    private let sources: [any DispatchSourceSignal]

    init(_ signals: [Int32]) {
        for number in signals { Glibc.signal(number, SIG_IGN) }
        sources = signals.map { DispatchSource.makeSignalSource(signal: $0, queue: .global()) }
        for source in sources {
            source.setEventHandler { [self] in flag.store(true, ordering: .relaxed) }
            source.resume()
        }
    }

    var raised: Bool { flag.load(ordering: .relaxed) }
}
