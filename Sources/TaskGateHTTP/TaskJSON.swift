import TaskGateAPI
import TaskScheduler

/// The JSON representation of a task (the `Task` schema of openapi.yaml), written without Foundation.
enum TaskJSON {
    /// The ETag of a record: its version, quoted.
    static func etag(_ record: TaskRecord) -> String {
        "\"\(record.version)\""
    }

    /// Writes one task object; `attempts: false` leaves its attempts out (the answers to submissions, which are about
    /// the acceptance: rendering them cost a tenth of the POST rate).
    static func write(_ record: TaskRecord, attempts: Bool = true, into writer: inout JSONWriter) {
        writer.beginObject()
        writer.key("id")
        writer.plainString(count: 16) { record.id.writeHex(into: $0) }
        writer.key("function")
        writer.string(record.function)
        writer.key("args")
        writer.raw(record.args.bytes)
        writer.key("state")
        writer.string(record.state.rawValue)
        writer.key("done")
        writer.bool(record.done)
        writer.key("version")
        writer.number(record.version)
        if let result = record.result {
            writer.key("result")
            writer.raw(result.bytes)
        }
        if let error = record.error {
            writer.key("error")
            writeError(error, into: &writer)
        }
        writer.key("attempt")
        writer.number(record.attempt)
        writer.key("max_retries")
        writer.number(record.maxRetries)
        writer.key("priority")
        writer.number(record.priority)
        if let timeout = record.timeout {
            writer.key("timeout_s")
            writer.number(timeout.seconds)
        }
        writer.key("tags")
        writer.beginArray()
        for tag in record.tags { writer.string(tag) }
        writer.endArray()
        writeTimes(record, into: &writer)
        if let expiresAt = record.expiresAt {
            writer.key("expires_at")
            writer.timestamp(nanosecondsSinceEpoch: expiresAt.nanoseconds)
        }
        if let cancel = record.cancel {
            writer.key("cancel")
            writeCancel(cancel, into: &writer)
        }
        if let url = record.callbackURL {
            writer.key("callback_url")
            writer.string(url)
        }
        if let delivery = record.callback {
            writer.key("callback")
            writeCallback(delivery, into: &writer)
        }
        if attempts, !record.attempts.isEmpty {
            writer.key("attempts")
            writeAttempts(record.attempts, into: &writer)
        }
        writer.endObject()
    }

    /// Where a task's time went (`TaskAttempt` in openapi.yaml): each assignment with its worker, its wait in the
    /// queue, its run and how it ended.
    static func writeAttempts(_ attempts: [TaskAttempt], into writer: inout JSONWriter) {
        writer.beginArray()
        for attempt in attempts {
            writer.beginObject()
            writer.key("attempt")
            writer.number(attempt.attempt)
            writer.key("worker")
            writer.string(attempt.worker.description)
            writer.key("worker_name")
            writer.string(attempt.workerName)
            writer.key("queued_at")
            writer.timestamp(nanosecondsSinceEpoch: attempt.queuedAt.nanoseconds)
            writer.key("started_at")
            writer.timestamp(nanosecondsSinceEpoch: attempt.startedAt.nanoseconds)
            writer.key("queue_wait_s")
            writer.seconds(nanoseconds: attempt.queueWait.nanoseconds)
            if let ended = attempt.endedAt {
                writer.key("ended_at")
                writer.timestamp(nanosecondsSinceEpoch: ended.nanoseconds)
                writer.key("run_s")
                writer.seconds(nanoseconds: attempt.runTime(now: ended).nanoseconds)
            }
            if let outcome = attempt.outcome {
                writer.key("outcome")
                writer.string(outcome)
            }
            writer.endObject()
        }
        writer.endArray()
    }

    /// `GET /tasks/{id}/logs` (`TaskLogs` in openapi.yaml): the kept tail of the task's log, how many earlier lines
    /// were left out, and its attempts.
    static func logs(_ record: TaskRecord) -> HTTPResponse {
        var writer = JSONWriter(capacity: 256 + record.logs.reduce(0) { $0 + 64 + $1.text.utf8.count })
        writer.beginObject()
        writer.key("id")
        writer.plainString(count: 16) { record.id.writeHex(into: $0) }
        writer.key("state")
        writer.string(record.state.rawValue)
        writer.key("version")
        writer.number(record.version)
        writer.key("lines")
        writer.beginArray()
        for line in record.logs {
            writer.beginObject()
            writer.key("at")
            writer.timestamp(nanosecondsSinceEpoch: line.at.nanoseconds)
            writer.key("attempt")
            writer.number(line.attempt)
            writer.key("text")
            writer.string(line.text)
            writer.endObject()
        }
        writer.endArray()
        writer.key("dropped")
        writer.number(record.logsDropped)
        writer.key("attempts")
        writeAttempts(record.attempts, into: &writer)
        writer.endObject()
        return response(200, record, body: writer.bytes)
    }

    /// A completion webhook's delivery (`CallbackDelivery` in openapi.yaml).
    static func writeCallback(_ delivery: CallbackDelivery, into writer: inout JSONWriter) {
        writer.beginObject()
        writer.key("state")
        writer.string(delivery.state.rawValue)
        writer.key("attempts")
        writer.number(delivery.attempts)
        if let status = delivery.lastStatus {
            writer.key("last_status")
            writer.number(status)
        }
        if let error = delivery.lastError {
            writer.key("last_error")
            writer.string(error)
        }
        if let next = delivery.nextAttemptAt {
            writer.key("next_attempt_at")
            writer.timestamp(nanosecondsSinceEpoch: next.nanoseconds)
        }
        if let finished = delivery.finishedAt {
            writer.key("finished_at")
            writer.timestamp(nanosecondsSinceEpoch: finished.nanoseconds)
        }
        writer.endObject()
    }

    /// `created_at`, `updated_at`, and `started_at` and `finished_at` when set.
    static func writeTimes(_ record: TaskRecord, into writer: inout JSONWriter) {
        writer.key("created_at")
        writer.timestamp(nanosecondsSinceEpoch: record.createdAt.nanoseconds)
        writer.key("updated_at")
        writer.timestamp(nanosecondsSinceEpoch: record.updatedAt.nanoseconds)
        if let startedAt = record.startedAt {
            writer.key("started_at")
            writer.timestamp(nanosecondsSinceEpoch: startedAt.nanoseconds)
        }
        if let finishedAt = record.finishedAt {
            writer.key("finished_at")
            writer.timestamp(nanosecondsSinceEpoch: finishedAt.nanoseconds)
        }
    }

    /// The first fields of a task's status: id, function, state, done, version.
    static func writeIdentity(_ record: TaskRecord, into writer: inout JSONWriter) {
        writer.key("id")
        writer.plainString(count: 16) { record.id.writeHex(into: $0) }
        writer.key("function")
        writer.string(record.function)
        writer.key("state")
        writer.string(record.state.rawValue)
        writer.key("done")
        writer.bool(record.done)
        writer.key("version")
        writer.number(record.version)
    }

    static func writeError(_ error: TaskFailure, into writer: inout JSONWriter) {
        writer.beginObject()
        writer.key("type")
        writer.string(error.typeURI)
        writer.key("title")
        writer.string(error.title)
        writer.key("detail")
        writer.string(error.detail)
        writer.key("code")
        writer.string(error.code.rawValue)
        writer.endObject()
    }

    private static func writeCancel(_ cancel: CancelInfo, into writer: inout JSONWriter) {
        writer.beginObject()
        writer.key("requested_at")
        writer.timestamp(nanosecondsSinceEpoch: cancel.requestedAt.nanoseconds)
        writer.key("confirm")
        if let confirm = cancel.confirm { writer.string(confirm.rawValue) } else { writer.null() }
        writer.key("worker_finished")
        writer.bool(cancel.workerFinished)
        writer.endObject()
    }

    /// Writes a task's status (`TaskStatus`: id, function, state, done, version, and result, error and cancel block
    /// when present), what `Prefer: return=minimal` asks for: no arguments, timestamps or tags.
    static func writeStatus(_ record: TaskRecord, into writer: inout JSONWriter) {
        writer.beginObject()
        writeIdentity(record, into: &writer)
        if let result = record.result {
            writer.key("result")
            writer.raw(result.bytes)
        }
        if let error = record.error {
            writer.key("error")
            writeError(error, into: &writer)
        }
        if let cancel = record.cancel {
            writer.key("cancel")
            writeCancel(cancel, into: &writer)
        }
        writer.endObject()
    }

    /// Writes one task, whole or (`minimal`) its status.
    static func write(_ record: TaskRecord, minimal: Bool, attempts: Bool = true, into writer: inout JSONWriter) {
        if minimal { writeStatus(record, into: &writer) } else { write(record, attempts: attempts, into: &writer) }
    }

    /// One task as JSON bytes.
    static func encode(_ record: TaskRecord, attempts: Bool = true) -> [UInt8] {
        var writer = JSONWriter(capacity: 384 + record.args.count + (record.result?.count ?? 0))
        write(record, attempts: attempts, into: &writer)
        return writer.bytes
    }

    /// One task as a response body, with its ETag.
    static func response(
        _ status: Int, _ record: TaskRecord, body: [UInt8]? = nil, headers: [(name: String, value: String)] = [],
        attempts: Bool = true
    ) -> HTTPResponse {
        var all: [(name: String, value: String)] = []
        all.reserveCapacity(3 + headers.count)
        all.append(("Content-Type", "application/json"))
        all.append(("ETag", etag(record)))
        all.append(("Cache-Control", "no-store"))
        all.append(contentsOf: headers)
        var response = HTTPResponse(status: status, headers: all, body: body ?? encode(record, attempts: attempts))
        response.storeSeq = record.storeSeq
        return response
    }
}
