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
                // Its length and characters are checked by the scheduler (one rule for every way in).
                registration.name = string(raw)
            case "functions":
                // The names follow the submission rule, checked by the scheduler.
                let functions = try strings(raw, pointer: pointer, what: "functions")
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

    /// The body of `POST /workers/{id}/poll` (read by `WirePollRequest`) in the core's terms; an empty body is a
    /// poll without reports that does not wait.
    static func poll(_ body: [UInt8], maxWait: Duration) throws(Problem) -> PollRequest {
        let wire: WirePollRequest
        do {
            wire = try WirePollRequest(decoding: body)
        } catch {
            throw Problem(error)
        }
        // The codec checked every id's form, so each one converts.
        var request = PollRequest()
        request.results = wire.results.map { result in
            switch result.outcome {
            case .result(let json):
                WorkerResult(taskID: TaskID(result.id)!, outcome: .success(Payload(json)), logs: result.logs)
            case .error(let message):
                WorkerResult(taskID: TaskID(result.id)!, outcome: .failure(message: message), logs: result.logs)
            }
        }
        request.confirms = wire.confirms.map { confirm in
            WorkerConfirm(taskID: TaskID(confirm.id)!, kind: CancelConfirm(confirm.confirm))
        }
        if let seconds = wire.waitSeconds { request.wait = min(.seconds(seconds, atMost: .seconds(1e9)), maxWait) }
        if let maxTasks = wire.maxTasks { request.maxAssignments = maxTasks }
        request.drain = wire.drain
        request.running = wire.running.map { Set($0.map { TaskID($0)! }) }
        return request
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
