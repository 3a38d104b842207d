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
    case create(fingerprint: UInt64?)
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
        try submit(CollectionOfOne(request), batch: false, now: now, effects: &effects)[0]
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
            do throws(SchedulerError) {
                try validate(request)
            } catch {
                var error = error
                if batch { error.batchIndex = index }
                throw error
            }
            guard let key = request.idempotencyKey else {
                plans.append(.create(fingerprint: nil))
                newTasks += 1
                continue
            }
            let fingerprint = Self.fingerprint(of: request)
            if let entry = idempotency[key] {
                guard entry.fingerprint == fingerprint, Self.matches(tasks[entry.taskID], request) else {
                    throw Self.conflict(key, batchIndex: batch ? index : nil)
                }
                plans.append(.existing(lookup(entry.taskID)))
            } else if let earlier = keysInBatch[key] {
                guard earlier.fingerprint == fingerprint else {
                    throw Self.conflict(key, batchIndex: batch ? index : nil)
                }
                plans.append(.sameAs(earlier.index))
            } else {
                keysInBatch[key] = (index, fingerprint)
                plans.append(.create(fingerprint: fingerprint))
                newTasks += 1
            }
        }
        guard pending.count + newTasks <= configuration.queueLimit else {
            throw SchedulerError(
                .queueFull,
                "the pending queue holds \(pending.count) of at most \(configuration.queueLimit) tasks")
        }
        // Pass 2: create.
        var outcomes: [SubmitOutcome] = []
        outcomes.reserveCapacity(plans.count)
        for (request, plan) in zip(requests, plans) {
            switch plan {
            case .existing(let lookup):
                outcomes.append(.existing(lookup))
            case .sameAs(let index):
                outcomes.append(.existing(lookup(outcomes[index].taskID)))
            case .create(let fingerprint):
                let id = create(request, fingerprint: fingerprint ?? 0, now: now, effects: &effects)
                if let key = request.idempotencyKey, let fingerprint {
                    idempotency[key] = IdempotencyEntry(taskID: id, fingerprint: fingerprint)
                }
                outcomes.append(.created(tasks[id]!))
            }
        }
        return outcomes
    }

    private mutating func create(
        _ request: SubmitRequest, fingerprint: UInt64, now: Timestamp, effects: inout Effects
    ) -> TaskID {
        let id = TaskID(rawValue: nextTaskID)
        nextTaskID += 1
        // Share one string storage per function name across all its tasks.
        let functionIndex = functionIndex[request.function]!
        let maxRetries = request.maxRetries ?? configuration.defaultMaxRetries
        var record = TaskRecord(
            id: id, request: request, function: functionNames[functionIndex], functionIndex: functionIndex,
            maxRetries: maxRetries, now: now)
        record.fingerprint = fingerprint
        let slot = tasks.insert(record)
        if persisting { storeRecord(at: slot, created: true, effects: &effects) }
        announceTask(at: slot, &effects)
        stateCounts[TaskState.pending.index] += 1
        counters.submitted += 1
        functionCounts[functionIndex].submitted += 1
        functionCounts[functionIndex].move(from: nil, to: .pending)
        schedule(id, now: now, effects: &effects)
        return id
    }

    private func validate(_ request: SubmitRequest) throws(SchedulerError) {
        let name = request.function
        guard isValidFunctionName(name) else {
            throw SchedulerError(.invalidArgument, functionNameRule, field: .function)
        }
        guard functionIndex[name] != nil else {
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
