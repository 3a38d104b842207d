import Foundation
import TaskGateAPI

/// A task handed to this worker: what the handler runs on.
public struct WorkerTask: Sendable, Hashable {
    /// The task id.
    public let id: String
    /// The function it was submitted with.
    public let function: String
    /// The args exactly as submitted, as JSON bytes.
    public let args: [UInt8]
    /// 1 for the first run, 2 after a worker died running it, ...
    public let attempt: Int
    /// When the server fails the task with `timeout` (RFC 3339), if it has a timeout.
    public let deadline: String?
    /// The W3C trace context the task was submitted with (`traceparent`), if any.
    public let traceparent: String?

    /// A task (for tests and tools).
    public init(
        id: String, function: String, args: [UInt8], attempt: Int = 1, deadline: String? = nil,
        traceparent: String? = nil
    ) {
        self.id = id
        self.function = function
        self.args = args
        self.attempt = attempt
        self.deadline = deadline
        self.traceparent = traceparent
    }

    /// The args decoded as `T`.
    public func decodeArgs<T: Decodable>(_ type: T.Type = T.self) throws -> T {
        try JSONDecoder().decode(T.self, from: Data(args))
    }
}

/// A function a worker runs: it gets the task and returns the result as JSON bytes. Throwing fails the task with
/// the error's description; it should stop promptly when its Swift task is cancelled (a cancel request).
public typealias WorkerHandler = @Sendable (WorkerTask) async throws -> [UInt8]

/// The functions a worker offers, by name.
public struct WorkerHandlers: Sendable {
    private var handlers: [String: WorkerHandler] = [:]

    /// No functions.
    public init() {}

    /// Adds or replaces a function that works on JSON bytes.
    public mutating func register(_ name: String, _ handler: @escaping WorkerHandler) {
        handlers[name] = handler
    }

    /// Adds or replaces a function with typed args and result (JSON-decoded and encoded with Foundation).
    public mutating func register<Args: Decodable & Sendable, Result: Encodable & Sendable>(
        _ name: String, _ function: @escaping @Sendable (Args, WorkerTask) async throws -> Result
    ) {
        handlers[name] = { task in
            let args: Args
            do {
                args = try task.decodeArgs(Args.self)
            } catch {
                throw WorkerFunctionError("\(name) could not decode its args: \(error)")
            }
            return Array(try JSONEncoder().encode(try await function(args, task)))
        }
    }

    /// The function registered under `name`.
    public subscript(name: String) -> WorkerHandler? { handlers[name] }

    /// The registered names, sorted.
    public var names: [String] { handlers.keys.sorted() }
}

/// An error a handler throws to fail its task with exactly this message as the detail.
public struct WorkerFunctionError: Error, CustomStringConvertible, Sendable {
    /// The failure's detail.
    public var message: String

    /// Creates an error.
    public init(_ message: String) {
        self.message = message
    }

    /// The message.
    public var description: String { message }
}
