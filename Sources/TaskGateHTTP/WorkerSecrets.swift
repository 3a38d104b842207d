import Crypto
import TaskScheduler

/// The secret of each remote worker's registration, so that a caller who learns a worker's id (from `GET /workers`,
/// a log) cannot report results or confirms for it, nor make it leave. A secret is the HMAC-SHA256 of the worker id
/// under a key drawn at start, so nothing is stored per worker and checking one costs one HMAC; a restart draws a new
/// key, and a worker of the old run is told `unknown_worker` and registers again, as before.
struct WorkerSecrets: Sendable {
    /// The key's bytes (`SymmetricKey` is not `Sendable`; one is made from them per use).
    private let key: [UInt8]

    /// A fresh random key (256 bits from the system's cryptographic generator).
    init() {
        key = SymmetricKey(size: .bits256).withUnsafeBytes { Array($0) }
    }

    /// The secret of `worker`: 32 lowercase hex digits.
    func secret(of worker: WorkerID) -> String {
        let mac = HMAC<SHA256>.authenticationCode(for: Array("worker \(worker)".utf8), using: SymmetricKey(data: key))
        let digits: [UInt8] = Array("0123456789abcdef".utf8)
        var text: [UInt8] = []
        text.reserveCapacity(32)
        for byte in mac.prefix(16) {
            text.append(digits[Int(byte >> 4)])
            text.append(digits[Int(byte & 0x0F)])
        }
        return String(decoding: text, as: UTF8.self)
    }

    /// True when `presented` is `worker`'s secret (compared in constant time).
    func verify(_ presented: String?, for worker: WorkerID) -> Bool {
        guard let presented else { return false }
        return AccessTokens.constantTimeEqual(secret(of: worker), presented)
    }
}
