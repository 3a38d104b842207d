/// The outcome of one submission.
public enum SubmitOutcome: Sendable {
    /// A new task was created.
    case created(TaskRecord)
    /// The idempotency key was seen before with the same request: this is that task (possibly expired).
    case existing(TaskLookup)

    /// The task's id.
    public var taskID: TaskID {
        switch self {
        case .created(let record): record.id
        case .existing(.found(let record)): record.id
        case .existing(.expired(let id)), .existing(.notFound(let id)): id
        }
    }
}

struct IdempotencyEntry: Sendable {
    var taskID: TaskID
    var fingerprint: UInt64
}

enum SubmitPlan {
    case create(function: Int, fingerprint: UInt64?)
    case existing(TaskLookup)
    case sameAs(Int)
}

struct Tombstone: Sendable {
    var expiresAt: Timestamp
    var idempotencyKey: String?
}

extension SchedulerCore {
    /// Accepts one task.
    package mutating func submit(
        _ request: SubmitRequest, now: Timestamp, effects: inout Effects
    ) throws(SchedulerError) -> SubmitOutcome {
        // The batch path's steps for one request, without its plans and outcome arrays.
        guard accepting else { throw SchedulerError(.shuttingDown, "the scheduler is draining") }
        let function = try validate(request)
        var fingerprint: UInt64?
        if let key = request.idempotencyKey {
            let print = Self.fingerprint(of: request)
            if let existing = try replay(key, fingerprint: print, request: request, batchIndex: nil) {
                return .existing(existing)
            }
            fingerprint = print
        }
        try checkRoom(for: 1)
        return accept(request, function: function, fingerprint: fingerprint, now: now, effects: &effects)
    }

    /// Accepts a batch, all or nothing: if any request is invalid or the queue cannot take them all, nothing is
    /// created. Field pointers in errors are prefixed with the request's index (`/3/priority`).
    package mutating func submitBatch(
        _ requests: [SubmitRequest], now: Timestamp, effects: inout Effects
    ) throws(SchedulerError) -> [SubmitOutcome] {
        guard requests.count <= configuration.maxBatchSize else {
            throw SchedulerError(
                .batchTooLarge, "a batch holds at most \(configuration.maxBatchSize) tasks, got \(requests.count)")
        }
        return try submit(requests, batch: true, now: now, effects: &effects)
    }

    private mutating func submit(
        _ requests: some Collection<SubmitRequest>, batch: Bool, now: Timestamp,
        effects: inout Effects
    ) throws(SchedulerError) -> [SubmitOutcome] {
        guard accepting else { throw SchedulerError(.shuttingDown, "the scheduler is draining") }
        // Pass 1: validate everything and resolve idempotency keys; nothing changes yet.
        var plans: [SubmitPlan] = []
        plans.reserveCapacity(requests.count)
        var keysInBatch: [String: (index: Int, fingerprint: UInt64)] = [:]
        var newTasks = 0
        for (index, request) in requests.enumerated() {
            let function: Int
            do throws(SchedulerError) {
                function = try validate(request)
            } catch {
                var error = error
                if batch { error.batchIndex = index }
                throw error
            }
            guard let key = request.idempotencyKey else {
                plans.append(.create(function: function, fingerprint: nil))
                newTasks += 1
                continue
            }
            let fingerprint = Self.fingerprint(of: request)
            if let existing = try replay(
                key, fingerprint: fingerprint, request: request, batchIndex: batch ? index : nil)
            {
                plans.append(.existing(existing))
            } else if let earlier = keysInBatch[key] {
                guard earlier.fingerprint == fingerprint else {
                    throw Self.conflict(key, batchIndex: batch ? index : nil)
                }
                plans.append(.sameAs(earlier.index))
            } else {
                keysInBatch[key] = (index, fingerprint)
                plans.append(.create(function: function, fingerprint: fingerprint))
                newTasks += 1
            }
        }
        try checkRoom(for: newTasks)
        // Pass 2: create.
        var outcomes: [SubmitOutcome] = []
        outcomes.reserveCapacity(plans.count)
        for (request, plan) in zip(requests, plans) {
            switch plan {
            case .existing(let lookup):
                outcomes.append(.existing(lookup))
            case .sameAs(let index):
                outcomes.append(.existing(lookup(outcomes[index].taskID)))
            case .create(let function, let fingerprint):
                outcomes.append(
                    accept(request, function: function, fingerprint: fingerprint, now: now, effects: &effects))
            }
        }
        return outcomes
    }

    /// The task an idempotency key is bound to, when it is bound and the request is the same; nil when the key is
    /// new. A different request under a known key is a conflict.
    private func replay(
        _ key: String, fingerprint: UInt64, request: SubmitRequest, batchIndex: Int?
    ) throws(SchedulerError) -> TaskLookup? {
        guard let entry = idempotency[key] else { return nil }
        guard entry.fingerprint == fingerprint, Self.matches(tasks[entry.taskID], request) else {
            throw Self.conflict(key, batchIndex: batchIndex)
        }
        return lookup(entry.taskID)
    }

    /// Refuses with `queue_full` unless the pending queue has room for `count` more tasks.
    private func checkRoom(for count: Int) throws(SchedulerError) {
        guard pending.count + count <= configuration.queueLimit else {
            throw SchedulerError(
                .queueFull,
                "the pending queue holds \(pending.count) of at most \(configuration.queueLimit) tasks")
        }
    }

    /// Creates a validated request's task, binds its idempotency key, and returns the outcome.
    private mutating func accept(
        _ request: SubmitRequest, function: Int, fingerprint: UInt64?, now: Timestamp, effects: inout Effects
    ) -> SubmitOutcome {
        let slot = create(request, function: function, fingerprint: fingerprint ?? 0, now: now, effects: &effects)
        if let key = request.idempotencyKey, let fingerprint {
            idempotency[key] = IdempotencyEntry(taskID: tasks[slot: slot].id, fingerprint: fingerprint)
        }
        return .created(tasks[slot: slot])
    }

    /// Creates the task and returns its slot.
    private mutating func create(
        _ request: SubmitRequest, function functionIndex: Int, fingerprint: UInt64, now: Timestamp,
        effects: inout Effects
    ) -> Int {
        let id = TaskID(rawValue: nextTaskID)
        nextTaskID += 1
        // Share one string storage per function name across all its tasks.
        let maxRetries = request.maxRetries ?? configuration.defaultMaxRetries
        var record = TaskRecord(
            id: id, request: request, function: functionNames[functionIndex], functionIndex: functionIndex,
            maxRetries: maxRetries, now: now)
        record.fingerprint = fingerprint
        let slot = tasks.insert(record)
        if persisting { storeRecord(at: slot, created: true, effects: &effects) }
        if announces() { effects.published.append(.task(tasks[slot: slot])) }
        stateCounts[TaskState.pending.index] += 1
        counters.submitted += 1
        functionCounts[functionIndex].submitted += 1
        functionCounts[functionIndex].move(from: nil, to: .pending)
        schedule(at: slot, now: now, effects: &effects)
        return slot
    }

    /// Checks a request against the limits and returns its function's interned index.
    private func validate(_ request: SubmitRequest) throws(SchedulerError) -> Int {
        let name = request.function
        guard isValidFunctionName(name) else {
            throw SchedulerError(.invalidArgument, functionNameRule, field: .function)
        }
        guard let function = functionIndex[name] else {
            throw SchedulerError(.unknownFunction, "no worker offers the function '\(name)'", field: .function)
        }
        guard configuration.priorityRange.contains(request.priority) else {
            throw SchedulerError(
                .invalidArgument,
                "priority must be between \(configuration.priorityRange.lowerBound) and "
                    + "\(configuration.priorityRange.upperBound)", field: .priority)
        }
        if let timeout = request.timeout, timeout <= .zero || timeout > configuration.maxTimeout {
            throw SchedulerError(
                .invalidArgument, "timeout_s must be above 0 and at most \(configuration.maxTimeout.seconds)",
                field: .timeout)
        }
        if let retries = request.maxRetries, retries < 0 || retries > configuration.maxRetriesLimit {
            throw SchedulerError(
                .invalidArgument, "max_retries must be between 0 and \(configuration.maxRetriesLimit)",
                field: .maxRetries)
        }
        guard request.tags.count <= configuration.maxTags,
            request.tags.allSatisfy({ $0.utf8.count <= configuration.maxTagLength })
        else {
            throw SchedulerError(
                .invalidArgument,
                "at most \(configuration.maxTags) tags of at most \(configuration.maxTagLength) bytes each",
                field: .tags)
        }
        if let key = request.idempotencyKey {
            guard !key.isEmpty, key.utf8.count <= configuration.maxIdempotencyKeyLength,
                key.utf8.allSatisfy({ $0 >= 0x21 && $0 <= 0x7e })
            else {
                throw SchedulerError(
                    .invalidArgument,
                    "the idempotency key must be 1 to \(configuration.maxIdempotencyKeyLength) visible ASCII characters",
                    field: .idempotencyKey)
            }
        }
        if let url = request.callbackURL {
            guard !url.isEmpty, url.utf8.count <= configuration.maxCallbackURLLength,
                url.utf8.allSatisfy({ $0 >= 0x21 && $0 <= 0x7e })
            else {
                throw SchedulerError(
                    .invalidArgument,
                    "callback_url must be 1 to \(configuration.maxCallbackURLLength) visible ASCII characters",
                    field: .callbackURL)
            }
        }
        return function
    }

    /// The one rule for function names, at submission and at registration: 1 to `maxFunctionNameLength`
    /// characters of A-Z a-z 0-9 _ . : -
    func isValidFunctionName(_ name: String) -> Bool {
        !name.isEmpty && name.utf8.count <= configuration.maxFunctionNameLength && name.utf8.allSatisfy(Self.isNameByte)
    }

    /// The rule, as error messages state it.
    var functionNameRule: String {
        "function must be 1 to \(configuration.maxFunctionNameLength) characters of A-Z a-z 0-9 _ . : -"
    }

    private static func isNameByte(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
            UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "_"), UInt8(ascii: "."), UInt8(ascii: ":"),
            UInt8(ascii: "-"):
            true
        default: false
        }
    }

    private static func conflict(_ key: String, batchIndex: Int?) -> SchedulerError {
        var error = SchedulerError(
            .idempotencyConflict, "the idempotency key '\(key)' was used with a different request",
            field: .idempotencyKey)
        error.batchIndex = batchIndex
        return error
    }

    /// Exact comparison against the live record; an evicted one is judged by the fingerprint alone.
    private static func matches(_ record: TaskRecord?, _ request: SubmitRequest) -> Bool {
        guard let record else { return true }
        return record.function == request.function && record.args == request.args
            && record.priority == request.priority && record.timeout == request.timeout
            && (request.maxRetries == nil || record.maxRetries == request.maxRetries) && record.tags == request.tags
            && record.callbackURL == request.callbackURL
    }

    /// A stable 64-bit FNV-1a hash of everything that makes two requests "the same".
    static func fingerprint(of request: SubmitRequest) -> UInt64 {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        func mix(_ bytes: some Sequence<UInt8>) {
            for byte in bytes {
                hash = (hash ^ UInt64(byte)) &* 0x100_0000_01b3
            }
            hash = (hash ^ 0xff) &* 0x100_0000_01b3
        }
        mix(request.function.utf8)
        mix(request.args.bytes)
        mix(String(request.priority).utf8)
        mix(String(request.timeout?.nanoseconds ?? -1).utf8)
        mix(String(request.maxRetries ?? -1).utf8)
        for tag in request.tags { mix(tag.utf8) }
        // Mixed in only when given, so fingerprints stored before callbacks existed still match.
        if let callbackURL = request.callbackURL { mix("callback:\(callbackURL)".utf8) }
        return hash
    }
}
