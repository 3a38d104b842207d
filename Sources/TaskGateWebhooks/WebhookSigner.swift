import Crypto

/// Signs webhooks as the Standard Webhooks specification describes: `webhook-signature: v1,<base64 HMAC-SHA256>` of
/// `<webhook-id>.<webhook-timestamp>.<body>`, keyed by the secret's bytes. A secret is written `whsec_<base64>` (the
/// specification's form, which its libraries read), of 24 to 64 random bytes.
public struct WebhookSigner: Sendable {
    /// The key's bytes (`SymmetricKey` is not `Sendable`; one is made per signature).
    private let key: [UInt8]
    /// The secret as given (`whsec_…`), for tools that print it.
    public let secret: String

    /// Reads a `whsec_<base64>` secret (the prefix may be left out).
    public init(secret: String) throws(WebhookSecretError) {
        let encoded = secret.hasPrefix("whsec_") ? String(secret.dropFirst(6)) : secret
        guard let bytes = Base64.decode(encoded), (24...64).contains(bytes.count) else {
            throw WebhookSecretError(
                "a webhook secret is 'whsec_' followed by the base64 of 24 to 64 random bytes "
                    + "(make one with `taskgate webhook-secret`)")
        }
        self.key = bytes
        self.secret = "whsec_" + encoded
    }

    /// A new random secret of 32 bytes, in the `whsec_` form.
    public static func generateSecret() -> String {
        var generator = SystemRandomNumberGenerator()
        return "whsec_" + Base64.encode((0..<32).map { _ in UInt8.random(in: 0...255, using: &generator) })
    }

    /// The `webhook-signature` header value for a message.
    public func signature(id: String, timestamp: Int64, body: [UInt8]) -> String {
        var hmac = HMAC<SHA256>(key: SymmetricKey(data: key))
        hmac.update(data: Array("\(id).\(timestamp).".utf8))
        hmac.update(data: body)
        return "v1," + Base64.encode(Array(hmac.finalize()))
    }
}

/// A webhook secret that could not be read.
public struct WebhookSecretError: Error, Sendable, CustomStringConvertible {
    /// What was wrong.
    public var description: String

    init(_ description: String) {
        self.description = description
    }
}
