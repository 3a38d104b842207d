import Testing

@testable import TaskGateWebhooks

/// Signatures as the Standard Webhooks specification defines them, and the secrets' form.
@Suite struct WebhookSignerTests {
    /// The example of the specification's reference libraries (standard-webhooks, python/tests).
    @Test func theSpecificationsExampleSignsAsPublished() throws {
        let signer = try WebhookSigner(secret: "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")
        let signature = signer.signature(
            id: "msg_p5jXN8AQM9LWM0D4loKWxJek", timestamp: 1_614_265_330, body: Array(#"{"test": 2432232314}"#.utf8))
        #expect(signature == "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=")
    }

    @Test func secretsAreReadWithOrWithoutThePrefixAndBadOnesRefused() throws {
        #expect(
            try WebhookSigner(secret: "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").secret
                == "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")
        for bad in ["", "whsec_", "whsec_c2hvcnQ=", "whsec_not*base64*at*all*!!!!!!!!!!!!"] {
            #expect(throws: WebhookSecretError.self) { try WebhookSigner(secret: bad) }
        }
        let generated = WebhookSigner.generateSecret()
        #expect(generated.hasPrefix("whsec_") && (try? WebhookSigner(secret: generated)) != nil)
        #expect(generated != WebhookSigner.generateSecret())
    }

    @Test func base64RoundTripsEveryLength() {
        for length in 0..<40 {
            let bytes = (0..<length).map { UInt8(truncatingIfNeeded: $0 &* 37 &+ 11) }
            #expect(Base64.decode(Base64.encode(bytes)) == bytes)
        }
        #expect(Base64.encode(Array("foobar".utf8)) == "Zm9vYmFy" && Base64.encode(Array("fo".utf8)) == "Zm8=")
        #expect(Base64.decode("Zm9vYg") == Array("foob".utf8))
    }
}
