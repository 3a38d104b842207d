import ArgumentParser
import Foundation
import TaskGateHTTP
import TaskGateWebhooks

extension Settings {
    /// Completion webhooks: the allow-list, the signing secret (required with it), the attempts' timeout and limit,
    /// and how many run at once.
    mutating func readCallbacks(
        _ serve: Serve, environment: ProcessInfoEnvironment,
        value: (String?, String, (String) -> String?) throws -> String?,
        positive: (Int?, String) throws -> Int?,
        seconds: (Double?, String) throws -> Duration?
    ) throws {
        let entries =
            serve.callbackAllow.isEmpty
            ? (environment.values["TASKGATE_CALLBACK_ALLOW"] ?? "").split(separator: ",").map {
                String($0).trimmingCharacters(in: .whitespaces)
            }.filter { !$0.isEmpty } : serve.callbackAllow
        do {
            gateway.callbackAllow = try CallbackAllowList(entries)
        } catch {
            throw ValidationError("\(error)")
        }
        let attempts = try positive(
            serve.callbackAttempts ?? environment.values["TASKGATE_CALLBACK_ATTEMPTS"].flatMap { Int($0) },
            "callback-attempts")
        if let attempts { scheduler.callbacks.maxAttempts = min(attempts, 100) }
        let timeout = try seconds(
            serve.callbackTimeout ?? environment.values["TASKGATE_CALLBACK_TIMEOUT"].flatMap { Double($0) },
            "callback-timeout")
        let concurrency = try positive(
            serve.callbackConcurrency ?? environment.values["TASKGATE_CALLBACK_CONCURRENCY"].flatMap { Int($0) },
            "callback-concurrency")
        var secret = try value(serve.webhookSecret, "TASKGATE_WEBHOOK_SECRET", { $0 })
        if secret == nil, let path = try value(serve.webhookSecretFile, "TASKGATE_WEBHOOK_SECRET_FILE", { $0 }) {
            guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
                throw ValidationError("cannot read the webhook secret file '\(path)'")
            }
            secret = text.trimmingCharacters(in: .whitespacesAndNewlines)
        }
        guard !gateway.callbackAllow.isEmpty else { return }
        guard let secret else {
            throw ValidationError(
                "--callback-allow needs a signing secret: give --webhook-secret (or TASKGATE_WEBHOOK_SECRET, or "
                    + "--webhook-secret-file); `taskgate webhook-secret` makes one")
        }
        let signer: WebhookSigner
        do {
            signer = try WebhookSigner(secret: secret)
        } catch {
            throw ValidationError("\(error)")
        }
        var configuration = WebhookDispatcher.Configuration(signer: signer)
        if let timeout { configuration.timeout = timeout }
        if let concurrency { configuration.concurrency = min(concurrency, 4_096) }
        webhooks = configuration
    }
}

/// `taskgate webhook-secret`: prints a new signing secret for `--webhook-secret`.
struct WebhookSecret: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "webhook-secret",
        abstract: "Print a new webhook signing secret (whsec_<base64 of 32 random bytes>).")

    func run() {
        print(WebhookSigner.generateSecret())
    }
}
