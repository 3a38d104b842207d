import Foundation
import Logging
import ServiceLifecycle
import TaskGateHTTP
import UnixSignals

/// The token file of `serve --token-file`: read at start, and again on each SIGHUP by `Reloader`.
enum TokenFile {
    /// Why the file could not be used.
    struct Failure: Error, CustomStringConvertible {
        var description: String
    }

    /// The file's tokens; throws with the path and the reason when it cannot be read or a line is bad.
    static func read(_ path: String) throws -> AccessTokens {
        let data: Data
        do {
            data = try Data(contentsOf: URL(fileURLWithPath: path))
        } catch {
            throw Failure(description: "cannot read the token file \(path): \(error.localizedDescription)")
        }
        guard data.count <= 1 << 20 else { throw Failure(description: "the token file \(path) is over 1 MiB") }
        guard let text = String(data: data, encoding: .utf8) else {
            throw Failure(description: "the token file \(path) is not UTF-8")
        }
        do {
            return try AccessTokens.parse(file: text)
        } catch {
            throw Failure(description: "the token file \(path), \(error)")
        }
    }

    /// Re-reads the file on SIGHUP and puts its tokens, with the fixed ones from flags and variables, in force. A file
    /// that cannot be read or has a bad line, or one that would leave no token at all (turning auth off), changes
    /// nothing and is logged; the tokens in force stay.
    struct Reloader: Service {
        let path: String
        let fixed: AccessTokens
        let gateway: Gateway
        let logger: Logger

        func run() async throws {
            let signals = await UnixSignalsSequence(trapping: .sighup)
            for await _ in signals.cancelOnGracefulShutdown() {
                do {
                    let tokens = fixed.merging(try TokenFile.read(path))
                    if gateway.tokens.isEnabled && !tokens.isEnabled {
                        throw Failure(description: "the token file holds no token; a reload never turns auth off")
                    }
                    gateway.replaceTokens(tokens)
                    logger.notice(
                        "tokens reloaded",
                        metadata: [
                            "auth.client_tokens": "\(tokens.client.count)",
                            "auth.worker_tokens": "\(tokens.worker.count)",
                            "auth.metrics_tokens": "\(tokens.metrics.count)",
                        ])
                } catch {
                    logger.error(
                        "tokens not reloaded; the previous ones stay in force", metadata: ["error": "\(error)"])
                }
            }
        }
    }
}
