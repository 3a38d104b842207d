import TaskGateAPI
import TaskGateClient

/// The poll body and answer of the worker API, written and read with the package's JSON scanner so args and
/// results pass through as the exact bytes they are.
enum WorkerWire {
    /// `{results, confirms, wait_s, running, drain?, max_tasks?}`.
    static func pollBody(_ poll: WorkerStateMachine.Poll, wait: Duration) -> [UInt8] {
        var writer = JSONWriter(capacity: 64 + poll.reports.count * 64)
        writer.beginObject()
        writer.key("results")
        writer.beginArray()
        for case .result(let id, let outcome) in poll.reports {
            writer.beginObject()
            writer.key("id")
            writer.string(id)
            switch outcome {
            case .success(let json):
                writer.key("result")
                writer.raw(json)
            case .failure(let message):
                writer.key("error")
                writer.beginObject()
                writer.key("message")
                writer.string(message)
                writer.endObject()
            }
            writer.endObject()
        }
        writer.endArray()
        writer.key("confirms")
        writer.beginArray()
        for case .confirm(let id, let kind) in poll.reports {
            writer.beginObject()
            writer.key("id")
            writer.string(id)
            writer.key("confirm")
            writer.string(kind)
            writer.endObject()
        }
        writer.endArray()
        writer.key("wait_s")
        writer.number(poll.waits ? wait.seconds : 0)
        writer.key("running")
        writer.beginArray()
        for id in poll.running { writer.string(id) }
        writer.endArray()
        if poll.drain {
            writer.key("drain")
            writer.bool(true)
            writer.key("max_tasks")
            writer.number(0)
        }
        writer.endObject()
        return writer.bytes
    }

    /// The tasks to run, the tasks to stop, and the reports refused, from a poll's answer.
    static func pollAnswer(_ body: [UInt8]) throws -> (tasks: [WorkerTask], cancel: [String], refused: [String]) {
        guard let members = try JSONScanner.members(body) else { throw WireError("the poll answer is not an object") }
        var tasks: [WorkerTask] = []
        var cancel: [String] = []
        var refused: [String] = []
        for member in members {
            let raw = body[member.range]
            switch member.key {
            case "tasks":
                for element in try JSONScanner.elements(raw) ?? [] {
                    tasks.append(try assignment(Array(raw[element.range])))
                }
            case "cancel":
                for element in try JSONScanner.elements(raw) ?? [] where element.kind == .string {
                    cancel.append(JSONScanner.decodeString(raw[element.range]))
                }
            case "refused":
                for element in try JSONScanner.elements(raw) ?? [] {
                    refused.append(String(decoding: raw[element.range], as: UTF8.self))
                }
            default:
                continue
            }
        }
        return (tasks, cancel, refused)
    }

    private static func assignment(_ bytes: [UInt8]) throws -> WorkerTask {
        guard let members = try JSONScanner.members(bytes) else { throw WireError("a task is not an object") }
        var id: String?
        var function: String?
        var args: [UInt8] = Array("null".utf8)
        var attempt = 1
        var deadline: String?
        for member in members {
            let raw = bytes[member.range]
            switch member.key {
            case "id": id = JSONScanner.decodeString(raw)
            case "function": function = JSONScanner.decodeString(raw)
            case "args": args = Array(raw)
            case "attempt": attempt = Int(String(decoding: raw, as: UTF8.self)) ?? 1
            case "deadline": deadline = member.kind == .string ? JSONScanner.decodeString(raw) : nil
            default: continue
            }
        }
        guard let id, let function else { throw WireError("a task lacks its id or function") }
        return WorkerTask(id: id, function: function, args: args, attempt: attempt, deadline: deadline)
    }

    struct WireError: Error, CustomStringConvertible {
        var description: String
        init(_ description: String) { self.description = description }
    }
}
