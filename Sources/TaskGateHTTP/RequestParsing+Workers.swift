import TaskGateAPI
import TaskScheduler

extension RequestParsing {
    /// The body of `POST /workers`: `{name, functions, capacity?, lease_s?}`.
    static func registration(
        _ body: [UInt8], defaultLease: Duration, leaseRange: ClosedRange<Duration>
    ) throws(Problem) -> WorkerRegistration {
        let members = try object(body)
        var registration = WorkerRegistration(name: "", functions: [], capacity: 1, lease: defaultLease)
        var hasFunctions = false
        for member in members {
            let raw = Array(body[member.range])
            let pointer = "/" + member.key
            switch member.key {
            case "name":
                guard member.kind == .string else { throw .invalidRequest("name must be a string", pointer: pointer) }
                registration.name = string(raw)
                guard registration.name.unicodeScalars.count <= 200 else {
                    throw .invalidRequest("name must be at most 200 characters", pointer: pointer)
                }
            case "functions":
                let functions = try strings(raw, pointer: pointer, what: "functions")
                for (index, function) in functions.enumerated()
                where function.isEmpty || function.unicodeScalars.count > 200 {
                    throw .invalidRequest(
                        "a function name must be 1 to 200 characters", pointer: "\(pointer)/\(index)")
                }
                registration.functions = Set(functions)
                hasFunctions = true
            case "capacity":
                guard member.kind == .number, let value = Int(String(decoding: raw, as: UTF8.self)),
                    (1...10_000).contains(value)
                else {
                    throw .invalidRequest("capacity must be an integer from 1 to 10000", pointer: pointer)
                }
                registration.capacity = value
            case "lease_s":
                let lease = try seconds(raw, kind: member.kind, pointer: pointer, what: "lease_s")
                guard leaseRange.contains(lease) else {
                    throw .invalidRequest(
                        "lease_s must be from \(leaseRange.lowerBound.seconds) to \(leaseRange.upperBound.seconds)",
                        pointer: pointer)
                }
                registration.lease = lease
            default:
                throw .invalidRequest(
                    "unknown field '\(member.key)'; known: name, functions, capacity, lease_s", pointer: pointer)
            }
        }
        guard hasFunctions else { throw .invalidRequest("functions is required", pointer: "/functions") }
        guard !registration.functions.isEmpty else {
            throw .invalidRequest("a worker must offer at least one function", pointer: "/functions")
        }
        if registration.name.isEmpty { registration.name = "worker" }
        return registration
    }

    /// The body of `POST /workers/{id}/poll`: `{results?, confirms?, wait_s?, max_tasks?, drain?, running?}`; an empty body
    /// is a poll without reports that does not wait.
    static func poll(_ body: [UInt8], maxWait: Duration) throws(Problem) -> PollRequest {
        var request = PollRequest()
        guard !body.isEmpty else { return request }
        let members = try object(body)
        for member in members {
            let raw = Array(body[member.range])
            let pointer = "/" + member.key
            switch member.key {
            case "results":
                for (index, element) in try array(raw, pointer: pointer, what: "results").enumerated() {
                    request.results.append(try result(Array(raw[element]), pointer: "\(pointer)/\(index)"))
                }
            case "confirms":
                for (index, element) in try array(raw, pointer: pointer, what: "confirms").enumerated() {
                    request.confirms.append(try confirm(Array(raw[element]), pointer: "\(pointer)/\(index)"))
                }
            case "wait_s":
                let wait = try seconds(raw, kind: member.kind, pointer: pointer, what: "wait_s", allowZero: true)
                request.wait = min(wait, maxWait)
            case "max_tasks":
                guard member.kind == .number, let value = Int(String(decoding: raw, as: UTF8.self)),
                    (0...1_000_000).contains(value)
                else {
                    throw .invalidRequest("max_tasks must be an integer from 0 to 1000000", pointer: pointer)
                }
                request.maxAssignments = value
            case "drain":
                guard member.kind == .bool else { throw .invalidRequest("drain must be a boolean", pointer: pointer) }
                request.drain = raw.first == UInt8(ascii: "t")
            case "running":
                var running = Set<TaskID>()
                for (index, text) in try strings(raw, pointer: pointer, what: "running").enumerated() {
                    guard let id = TaskID(text) else {
                        throw .invalidRequest(
                            "running must list task ids (16 lowercase hex digits)", pointer: "\(pointer)/\(index)")
                    }
                    running.insert(id)
                }
                request.running = running
            default:
                throw .invalidRequest(
                    "unknown field '\(member.key)'; known: results, confirms, wait_s, max_tasks, drain, running",
                    pointer: pointer)
            }
        }
        return request
    }

    /// `{id, result}` or `{id, error: {message}}`.
    private static func result(_ raw: [UInt8], pointer: String) throws(Problem) -> WorkerResult {
        let members = try reportObject(raw, pointer: pointer, what: "a result")
        var id: TaskID?
        var outcome: WorkerOutcome?
        for member in members {
            let value = raw[member.range]
            switch member.key {
            case "id":
                id = try taskID(Array(value), kind: member.kind, pointer: "\(pointer)/id")
            case "result":
                guard outcome == nil else {
                    throw .invalidRequest("a result has either result or error, not both", pointer: pointer)
                }
                outcome = .success(Payload(Array(value)))
            case "error":
                guard outcome == nil else {
                    throw .invalidRequest("a result has either result or error, not both", pointer: pointer)
                }
                outcome = .failure(message: try failureMessage(Array(value), kind: member.kind, pointer: pointer))
            default:
                throw .invalidRequest(
                    "unknown field '\(member.key)' in a result; known: id, result, error",
                    pointer: "\(pointer)/\(member.key)")
            }
        }
        guard let id else { throw .invalidRequest("a result needs its task id", pointer: "\(pointer)/id") }
        guard let outcome else { throw .invalidRequest("a result needs result or error", pointer: pointer) }
        return WorkerResult(taskID: id, outcome: outcome)
    }

    /// `{message}`: why the function failed.
    private static func failureMessage(_ raw: [UInt8], kind: JSONKind, pointer: String) throws(Problem) -> String {
        let invalid = Problem.invalidRequest(
            "error must be an object with a string message", pointer: "\(pointer)/error")
        guard kind == .object, let members = try? JSONScanner.members(raw) else { throw invalid }
        var message: String?
        for member in members {
            guard member.key == "message", member.kind == .string else {
                throw .invalidRequest(
                    "unknown field '\(member.key)' in error; known: message", pointer: "\(pointer)/error/\(member.key)")
            }
            message = string(Array(raw[member.range]))
        }
        guard let message else { throw invalid }
        return message
    }

    /// `{id, confirm}` with confirm `canceled`, `cancel_not_found` or `cancel_failed`.
    private static func confirm(_ raw: [UInt8], pointer: String) throws(Problem) -> WorkerConfirm {
        let members = try reportObject(raw, pointer: pointer, what: "a confirm")
        var id: TaskID?
        var kind: CancelConfirm?
        for member in members {
            let value = Array(raw[member.range])
            switch member.key {
            case "id":
                id = try taskID(value, kind: member.kind, pointer: "\(pointer)/id")
            case "confirm":
                guard member.kind == .string, let parsed = CancelConfirm(rawValue: string(value)) else {
                    throw .invalidRequest(
                        "confirm must be canceled, cancel_not_found or cancel_failed", pointer: "\(pointer)/confirm")
                }
                kind = parsed
            default:
                throw .invalidRequest(
                    "unknown field '\(member.key)' in a confirm; known: id, confirm",
                    pointer: "\(pointer)/\(member.key)")
            }
        }
        guard let id else { throw .invalidRequest("a confirm needs its task id", pointer: "\(pointer)/id") }
        guard let kind else { throw .invalidRequest("a confirm needs its confirm", pointer: "\(pointer)/confirm") }
        return WorkerConfirm(taskID: id, kind: kind)
    }

    private static func reportObject(_ raw: [UInt8], pointer: String, what: String) throws(Problem)
        -> [JSONScanner.Member]
    {
        guard let members = try? JSONScanner.members(raw) else {
            throw .invalidRequest("\(what) must be an object", pointer: pointer)
        }
        return members
    }

    private static func array(_ raw: [UInt8], pointer: String, what: String) throws(Problem) -> [Range<Int>] {
        guard let elements = try? JSONScanner.elements(raw[...]) else {
            throw .invalidRequest("\(what) must be an array", pointer: pointer)
        }
        return elements.map(\.range)
    }

    private static func taskID(_ raw: [UInt8], kind: JSONKind, pointer: String) throws(Problem) -> TaskID {
        guard kind == .string, let id = TaskID(string(raw)) else {
            throw .invalidRequest("id must be a task id (16 lowercase hex digits)", pointer: pointer)
        }
        return id
    }

    /// A JSON number of seconds: positive, or (with `allowZero`) zero too.
    private static func seconds(
        _ raw: [UInt8], kind: JSONKind, pointer: String, what: String, allowZero: Bool = false
    ) throws(Problem) -> Duration {
        guard kind == .number, let value = Double(String(decoding: raw, as: UTF8.self)), value.isFinite,
            allowZero ? value >= 0 : value > 0
        else {
            throw .invalidRequest(
                "\(what) must be a \(allowZero ? "non-negative" : "positive") number", pointer: pointer)
        }
        return .seconds(value, atMost: .seconds(1e9))
    }
}
