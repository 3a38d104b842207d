import Crypto
import Foundation
import TaskScheduler

/// The functions every taskgate server offers in process: `echo`, `sleep`, `sha256`, `fail`.
public enum Builtins {
    /// A registry holding the four built-in functions.
    public static var registry: FunctionRegistry {
        var registry = FunctionRegistry()
        register(into: &registry)
        return registry
    }

    /// Adds the built-in functions to `registry`.
    public static func register(into registry: inout FunctionRegistry) {
        registry.register("echo", echo)
        registry.register("sleep", sleep)
        registry.register("sha256", sha256)
        registry.register("fail", fail)
    }

    /// Returns its args unchanged.
    @Sendable public static func echo(_ args: Payload, _ context: TaskContext) async throws -> Payload {
        args
    }

    /// `{"seconds": x}` (0 to 86400): sleeps, stopping at once when cancelled; returns `{"slept_s": x}`.
    @Sendable public static func sleep(_ args: Payload, _ context: TaskContext) async throws -> Payload {
        struct Args: Decodable { var seconds: Double }
        guard let decoded = try? JSONDecoder().decode(Args.self, from: Data(args.bytes)),
            decoded.seconds.isFinite, decoded.seconds >= 0, decoded.seconds <= 86_400
        else {
            throw FunctionError("sleep expects {\"seconds\": x} with x between 0 and 86400")
        }
        try await Task.sleep(for: .nanoseconds(Int64(decoded.seconds * 1e9)))
        return Payload(json: "{\"slept_s\":\(decoded.seconds)}")
    }

    /// Returns the SHA-256 of the args' JSON bytes, as a JSON string of 64 lowercase hex digits.
    @Sendable public static func sha256(_ args: Payload, _ context: TaskContext) async throws -> Payload {
        let digest = SHA256.hash(data: args.bytes)
        let hex = digest.map { byte in
            let text = String(byte, radix: 16)
            return byte < 16 ? "0" + text : text
        }.joined()
        return Payload(json: "\"\(hex)\"")
    }

    /// Fails with a message: the args if they are a JSON string, their `message` field if they are an object
    /// with one, else a fixed text with the args appended.
    @Sendable public static func fail(_ args: Payload, _ context: TaskContext) async throws -> Payload {
        struct Args: Decodable { var message: String }
        let data = Data(args.bytes)
        if let text = try? JSONDecoder().decode(String.self, from: data) { throw FunctionError(text) }
        if let decoded = try? JSONDecoder().decode(Args.self, from: data) { throw FunctionError(decoded.message) }
        throw FunctionError("fail was asked to fail with args \(args.description.prefix(200))")
    }
}
