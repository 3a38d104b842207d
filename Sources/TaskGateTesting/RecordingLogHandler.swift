import Logging
import Synchronization

/// A log handler that keeps every line it is given, for tests that count or read log lines.
public struct RecordingLogHandler: LogHandler {
    /// One logged line.
    public struct Line: Sendable {
        /// The level.
        public var level: Logger.Level
        /// The constant message.
        public var message: String
        /// The metadata, rendered as strings.
        public var metadata: [String: String]
    }

    /// The lines so far, shared by every copy of the handler.
    public final class Store: Sendable {
        private let lines = Mutex<[Line]>([])

        /// An empty store.
        public init() {}

        /// The lines so far.
        public var all: [Line] { lines.withLock { $0 } }

        func append(_ line: Line) { lines.withLock { $0.append(line) } }
    }

    /// Where the lines go.
    public let store: Store
    /// The metadata attached to the logger.
    public var metadata: Logger.Metadata = [:]
    /// Everything is recorded by default.
    public var logLevel: Logger.Level = .trace

    /// A handler writing to `store`.
    public init(store: Store) {
        self.store = store
    }

    /// A logger that records into `store`.
    public static func logger(_ store: Store) -> Logger {
        Logger(label: "taskgate.test") { _ in RecordingLogHandler(store: store) }
    }

    /// Records the line.
    public func log(event: LogEvent) {
        var rendered: [String: String] = [:]
        for (key, value) in metadata.merging(event.metadata ?? [:], uniquingKeysWith: { $1 }) {
            rendered[key] = "\(value)"
        }
        store.append(Line(level: event.level, message: event.message.description, metadata: rendered))
    }

    /// Metadata by key.
    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }
}
