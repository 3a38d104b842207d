extension WirePollRequest {
    /// `{results, confirms, wait_s?, max_tasks?, drain?, running?}` (absent fields are left out).
    public func encoded() -> [UInt8] {
        var writer = JSONWriter(capacity: 64 + (results.count + confirms.count) * 64 + (running?.count ?? 0) * 20)
        writer.beginObject()
        writer.key("results")
        writer.beginArray()
        for result in results {
            writer.beginObject()
            writer.key("id")
            writer.string(result.id)
            switch result.outcome {
            case .result(let json):
                writer.key("result")
                writer.raw(json)
            case .error(let message):
                writer.key("error")
                writer.beginObject()
                writer.key("message")
                writer.string(message)
                writer.endObject()
            }
            if !result.logs.isEmpty {
                writer.key("logs")
                writer.beginArray()
                for line in result.logs { writer.string(line) }
                writer.endArray()
            }
            writer.endObject()
        }
        writer.endArray()
        writer.key("confirms")
        writer.beginArray()
        for confirm in confirms {
            writer.beginObject()
            writer.key("id")
            writer.string(confirm.id)
            writer.key("confirm")
            writer.string(confirm.confirm.rawValue)
            writer.endObject()
        }
        writer.endArray()
        if let waitSeconds {
            writer.key("wait_s")
            writer.number(waitSeconds)
        }
        if let running {
            writer.key("running")
            writer.beginArray()
            for id in running { writer.string(id) }
            writer.endArray()
        }
        if drain {
            writer.key("drain")
            writer.bool(true)
        }
        if let maxTasks {
            writer.key("max_tasks")
            writer.number(maxTasks)
        }
        writer.endObject()
        return writer.bytes
    }

    /// Reads a poll body strictly: every field known and of its type, every id a task id; an empty body is a poll
    /// without reports that does not wait.
    public init(decoding body: [UInt8]) throws(WireFormatError) {
        self.init()
        guard !body.isEmpty else { return }
        for member in try WireReading.object(body, pointer: "", what: "the body") {
            let raw = Array(body[member.range])
            let pointer = "/" + member.key
            switch member.key {
            case "results":
                for (index, element) in try WireReading.elements(raw, pointer: pointer, what: "results") {
                    results.append(try Self.result(Array(raw[element]), pointer: "\(pointer)/\(index)"))
                }
            case "confirms":
                for (index, element) in try WireReading.elements(raw, pointer: pointer, what: "confirms") {
                    confirms.append(try Self.confirm(Array(raw[element]), pointer: "\(pointer)/\(index)"))
                }
            case "wait_s":
                guard member.kind == .number, let value = Double(String(decoding: raw, as: UTF8.self)),
                    value.isFinite, value >= 0
                else { throw .invalid("wait_s must be a non-negative number", pointer: pointer) }
                waitSeconds = value
            case "max_tasks":
                guard member.kind == .number, let value = Int(String(decoding: raw, as: UTF8.self)),
                    (0...1_000_000).contains(value)
                else { throw .invalid("max_tasks must be an integer from 0 to 1000000", pointer: pointer) }
                maxTasks = value
            case "drain":
                guard member.kind == .bool else { throw .invalid("drain must be a boolean", pointer: pointer) }
                drain = raw.first == UInt8(ascii: "t")
            case "running":
                var ids: [String] = []
                for (index, text) in try WireReading.strings(raw, pointer: pointer, what: "running").enumerated() {
                    guard WireTaskID.isValid(text) else {
                        throw .invalid(
                            "running must list task ids (16 lowercase hex digits)", pointer: "\(pointer)/\(index)")
                    }
                    ids.append(text)
                }
                running = ids
            default:
                throw .invalid(
                    "unknown field '\(member.key)'; known: results, confirms, wait_s, max_tasks, drain, running",
                    pointer: pointer)
            }
        }
    }

    /// `{id, result, logs?}` or `{id, error: {message}, logs?}`.
    private static func result(_ raw: [UInt8], pointer: String) throws(WireFormatError) -> Result {
        var id: String?
        var outcome: Outcome?
        var logs: [String] = []
        for member in try WireReading.report(raw, pointer: pointer, what: "a result") {
            let value = Array(raw[member.range])
            switch member.key {
            case "id":
                id = try WireReading.taskID(value, kind: member.kind, pointer: "\(pointer)/id")
            case "result", "error":
                guard outcome == nil else {
                    throw .invalid("a result has either result or error, not both", pointer: pointer)
                }
                outcome =
                    member.key == "result"
                    ? .result(value)
                    : .error(message: try failureMessage(value, kind: member.kind, pointer: pointer))
            case "logs":
                logs = try WireReading.strings(value, pointer: "\(pointer)/logs", what: "logs")
            default:
                throw .invalid(
                    "unknown field '\(member.key)' in a result; known: id, result, error, logs",
                    pointer: "\(pointer)/\(member.key)")
            }
        }
        guard let id else { throw .invalid("a result needs its task id", pointer: "\(pointer)/id") }
        guard let outcome else { throw .invalid("a result needs result or error", pointer: pointer) }
        return Result(id: id, outcome: outcome, logs: logs)
    }

    /// `{message}`: why the function failed.
    private static func failureMessage(_ raw: [UInt8], kind: JSONKind, pointer: String) throws(WireFormatError)
        -> String
    {
        let invalid = WireFormatError.invalid(
            "error must be an object with a string message", pointer: "\(pointer)/error")
        guard kind == .object, let members = try? JSONScanner.members(raw) else { throw invalid }
        var message: String?
        for member in members {
            guard member.key == "message", member.kind == .string else {
                throw .invalid(
                    "unknown field '\(member.key)' in error; known: message", pointer: "\(pointer)/error/\(member.key)")
            }
            message = JSONScanner.decodeString(raw[member.range])
        }
        guard let message else { throw invalid }
        return message
    }

    /// `{id, confirm}`.
    private static func confirm(_ raw: [UInt8], pointer: String) throws(WireFormatError) -> Confirm {
        var id: String?
        var kind: WireCancelConfirm?
        for member in try WireReading.report(raw, pointer: pointer, what: "a confirm") {
            let value = Array(raw[member.range])
            switch member.key {
            case "id":
                id = try WireReading.taskID(value, kind: member.kind, pointer: "\(pointer)/id")
            case "confirm":
                guard member.kind == .string,
                    let parsed = WireCancelConfirm(rawValue: JSONScanner.decodeString(value[...]))
                else {
                    throw .invalid(
                        "confirm must be canceled, cancel_not_found or cancel_failed", pointer: "\(pointer)/confirm")
                }
                kind = parsed
            default:
                throw .invalid(
                    "unknown field '\(member.key)' in a confirm; known: id, confirm",
                    pointer: "\(pointer)/\(member.key)")
            }
        }
        guard let id else { throw .invalid("a confirm needs its task id", pointer: "\(pointer)/id") }
        guard let kind else { throw .invalid("a confirm needs its confirm", pointer: "\(pointer)/confirm") }
        return Confirm(id: id, confirm: kind)
    }
}

extension WirePollResponse {
    /// `{tasks, cancel, refused}`.
    public func encoded() -> [UInt8] {
        var writer = JSONWriter(capacity: 64 + tasks.reduce(0) { $0 + 160 + $1.args.count } + cancel.count * 20)
        writer.beginObject()
        writer.key("tasks")
        writer.beginArray()
        for task in tasks {
            writer.beginObject()
            writer.key("id")
            writer.string(task.id)
            writer.key("function")
            writer.string(task.function)
            writer.key("args")
            writer.raw(task.args)
            writer.key("attempt")
            writer.number(task.attempt)
            if let deadline = task.deadline {
                writer.key("deadline")
                writer.string(deadline)
            }
            if let traceparent = task.traceparent {
                writer.key("traceparent")
                writer.string(traceparent)
            }
            writer.endObject()
        }
        writer.endArray()
        writer.key("cancel")
        writer.beginArray()
        for id in cancel { writer.string(id) }
        writer.endArray()
        writer.key("refused")
        writer.beginArray()
        for refusal in refused {
            writer.beginObject()
            writer.key("id")
            writer.string(refusal.id)
            writer.key("report")
            writer.string(refusal.report)
            writer.key("code")
            writer.string(refusal.code)
            writer.endObject()
        }
        writer.endArray()
        writer.endObject()
        return writer.bytes
    }

    /// Reads an answer leniently: unknown fields are skipped; a task without its id or function is an error.
    public init(decoding body: [UInt8]) throws(WireFormatError) {
        self.init()
        for member in try WireReading.object(body, pointer: "", what: "the poll answer") {
            let raw = Array(body[member.range])
            let pointer = "/" + member.key
            switch member.key {
            case "tasks":
                for (index, element) in try WireReading.elements(raw, pointer: pointer, what: "tasks") {
                    tasks.append(try Self.assignment(Array(raw[element]), pointer: "\(pointer)/\(index)"))
                }
            case "cancel":
                cancel = try WireReading.strings(raw, pointer: pointer, what: "cancel")
            case "refused":
                for (index, element) in try WireReading.elements(raw, pointer: pointer, what: "refused") {
                    refused.append(try Self.refusal(Array(raw[element]), pointer: "\(pointer)/\(index)"))
                }
            default:
                continue
            }
        }
    }

    private static func assignment(_ bytes: [UInt8], pointer: String) throws(WireFormatError) -> Assignment {
        var id: String?
        var function: String?
        var args: [UInt8] = Array("null".utf8)
        var attempt = 1
        var deadline: String?
        var traceparent: String?
        for member in try WireReading.report(bytes, pointer: pointer, what: "a task") {
            let raw = bytes[member.range]
            switch member.key {
            case "id" where member.kind == .string: id = JSONScanner.decodeString(raw)
            case "function" where member.kind == .string: function = JSONScanner.decodeString(raw)
            case "args": args = Array(raw)
            case "attempt" where member.kind == .number: attempt = Int(String(decoding: raw, as: UTF8.self)) ?? 1
            case "deadline" where member.kind == .string: deadline = JSONScanner.decodeString(raw)
            case "traceparent" where member.kind == .string: traceparent = JSONScanner.decodeString(raw)
            default: continue
            }
        }
        guard let id, let function else { throw .invalid("a task needs its id and function", pointer: pointer) }
        return Assignment(
            id: id, function: function, args: args, attempt: attempt, deadline: deadline, traceparent: traceparent)
    }

    private static func refusal(_ bytes: [UInt8], pointer: String) throws(WireFormatError) -> Refusal {
        var refusal = Refusal(id: "", report: "", code: "")
        for member in try WireReading.report(bytes, pointer: pointer, what: "a refusal") where member.kind == .string {
            let text = JSONScanner.decodeString(bytes[member.range])
            switch member.key {
            case "id": refusal.id = text
            case "report": refusal.report = text
            case "code": refusal.code = text
            default: continue
            }
        }
        return refusal
    }
}

/// The reading steps the wire codecs (and the gateway's own body readers) share, each failing with the field's
/// pointer.
package enum WireReading {
    /// The members of a value that must be an object.
    package static func object(_ raw: [UInt8], pointer: String, what: String) throws(WireFormatError) -> [JSONScanner
        .Member]
    {
        let members: [JSONScanner.Member]?
        do {
            members = try JSONScanner.members(raw)
        } catch {
            throw .syntax(error)
        }
        guard let members else { throw .invalid("\(what) must be a JSON object", pointer: pointer) }
        return members
    }

    /// The members of one report inside an array (its bytes were validated with the array).
    package static func report(_ raw: [UInt8], pointer: String, what: String) throws(WireFormatError) -> [JSONScanner
        .Member]
    {
        guard let members = try? JSONScanner.members(raw) else {
            throw .invalid("\(what) must be an object", pointer: pointer)
        }
        return members
    }

    /// The index and byte range of each element of a value that must be an array.
    package static func elements(_ raw: [UInt8], pointer: String, what: String) throws(WireFormatError) -> [(
        Int, Range<Int>
    )] {
        guard let elements = try? JSONScanner.elements(raw[...]) else {
            throw .invalid("\(what) must be an array", pointer: pointer)
        }
        return elements.enumerated().map { ($0.offset, $0.element.range) }
    }

    /// A value that must be an array of strings.
    package static func strings(_ raw: [UInt8], pointer: String, what: String) throws(WireFormatError) -> [String] {
        guard let elements = try? JSONScanner.elements(raw[...]) else {
            throw .invalid("\(what) must be an array of strings", pointer: pointer)
        }
        var values: [String] = []
        for (index, element) in elements.enumerated() {
            guard element.kind == .string else {
                throw .invalid("\(what) must be an array of strings", pointer: "\(pointer)/\(index)")
            }
            values.append(JSONScanner.decodeString(raw[element.range]))
        }
        return values
    }

    /// A value that must be a task id string.
    package static func taskID(_ raw: [UInt8], kind: JSONKind, pointer: String) throws(WireFormatError) -> String {
        let text = kind == .string ? JSONScanner.decodeString(raw[...]) : ""
        guard WireTaskID.isValid(text) else {
            throw .invalid("id must be a task id (16 lowercase hex digits)", pointer: pointer)
        }
        return text
    }
}
