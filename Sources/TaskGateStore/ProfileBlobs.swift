import TaskScheduler

/// A task's attempts and log lines as blobs: little-endian 64-bit integers and strings prefixed with their 32-bit
/// UTF-8 length, one record after another. Read back by `ProfileBlobs.attempts`/`logs`; a damaged blob reads as
/// far as it is whole.
enum ProfileBlobs {
    /// The attempts: attempt, worker id, queued, started, ended (`Int64.min` for none), then name and outcome
    /// (empty for none).
    static func encode(_ attempts: [TaskAttempt]) -> [UInt8]? {
        guard !attempts.isEmpty else { return nil }
        var out: [UInt8] = []
        for attempt in attempts {
            append(Int64(attempt.attempt), to: &out)
            append(Int64(bitPattern: attempt.worker.rawValue), to: &out)
            append(attempt.queuedAt.nanoseconds, to: &out)
            append(attempt.startedAt.nanoseconds, to: &out)
            append(attempt.endedAt?.nanoseconds ?? .min, to: &out)
            append(attempt.workerName, to: &out)
            append(attempt.outcome ?? "", to: &out)
        }
        return out
    }

    /// The log lines: time, attempt, text.
    static func encode(_ logs: [TaskLogLine]) -> [UInt8]? {
        guard !logs.isEmpty else { return nil }
        var out: [UInt8] = []
        for line in logs {
            append(line.at.nanoseconds, to: &out)
            append(Int64(line.attempt), to: &out)
            append(line.text, to: &out)
        }
        return out
    }

    static func attempts(_ bytes: [UInt8]?) -> [TaskAttempt] {
        guard let bytes else { return [] }
        var reader = Reader(bytes: bytes)
        var attempts: [TaskAttempt] = []
        while let number = reader.int(), let worker = reader.int(), let queued = reader.int(),
            let started = reader.int(), let ended = reader.int(), let name = reader.string(),
            let outcome = reader.string()
        {
            attempts.append(
                TaskAttempt(
                    attempt: Int(number), worker: WorkerID(rawValue: UInt64(bitPattern: worker)), workerName: name,
                    queuedAt: Timestamp(nanoseconds: queued), startedAt: Timestamp(nanoseconds: started),
                    endedAt: ended == .min ? nil : Timestamp(nanoseconds: ended),
                    outcome: outcome.isEmpty ? nil : outcome))
        }
        return attempts
    }

    static func logs(_ bytes: [UInt8]?) -> [TaskLogLine] {
        guard let bytes else { return [] }
        var reader = Reader(bytes: bytes)
        var logs: [TaskLogLine] = []
        while let at = reader.int(), let attempt = reader.int(), let text = reader.string() {
            logs.append(TaskLogLine(at: Timestamp(nanoseconds: at), attempt: Int(attempt), text: text))
        }
        return logs
    }

    private static func append(_ value: Int64, to out: inout [UInt8]) {
        withUnsafeBytes(of: value.littleEndian) { out.append(contentsOf: $0) }
    }

    private static func append(_ text: String, to out: inout [UInt8]) {
        let utf8 = Array(text.utf8)
        withUnsafeBytes(of: UInt32(utf8.count).littleEndian) { out.append(contentsOf: $0) }
        out.append(contentsOf: utf8)
    }

    private struct Reader {
        let bytes: [UInt8]
        var index = 0

        mutating func int() -> Int64? {
            guard index + 8 <= bytes.count else { return nil }
            var value: Int64 = 0
            for offset in 0..<8 { value |= Int64(bytes[index + offset]) << (8 * Int64(offset)) }
            index += 8
            return value
        }

        mutating func string() -> String? {
            guard index + 4 <= bytes.count else { return nil }
            var count = 0
            for offset in 0..<4 { count |= Int(bytes[index + offset]) << (8 * offset) }
            guard index + 4 + count <= bytes.count else { return nil }
            defer { index += 4 + count }
            return String(decoding: bytes[(index + 4)..<(index + 4 + count)], as: UTF8.self)
        }
    }
}
