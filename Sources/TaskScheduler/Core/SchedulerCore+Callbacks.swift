extension SchedulerCore {
    /// Records what delivery attempt `attempt` of task `id`'s completion webhook came to: delivered or gone ends it;
    /// a failure schedules the next attempt after the policy's backoff, or ends it `failed` once attempts are spent.
    /// A report for an attempt that is not the one due (a duplicate, or one from before a restart) changes nothing.
    /// Returns whether it was taken.
    @discardableResult
    package mutating func deliveryAttempted(
        _ id: TaskID, attempt: Int, outcome: DeliveryOutcome, now: Timestamp, effects: inout Effects
    ) -> Bool {
        guard let slot = tasks.slot(of: id), var delivery = tasks[slot: slot].callback, delivery.state == .pending,
            delivery.attempts == attempt - 1
        else { return false }
        delivery.attempts = attempt
        delivery.nextAttemptAt = nil
        switch outcome {
        case .delivered(let status):
            delivery.state = .delivered
            delivery.lastStatus = status
            delivery.lastError = nil
            counters.callbacksDelivered += 1
        case .gone:
            delivery.state = .gone
            delivery.lastStatus = 410
            delivery.lastError = "the receiver answered 410 Gone"
            counters.callbacksGivenUp += 1
        case .failed(let status, let detail):
            delivery.lastStatus = status
            delivery.lastError = Self.cut(detail, to: CallbackDelivery.maxErrorBytes)
            counters.callbackAttemptsFailed += 1
            if attempt >= configuration.callbacks.maxAttempts {
                delivery.state = .failed
                counters.callbacksGivenUp += 1
            } else {
                let due = now + configuration.callbacks.delay(after: attempt, of: id)
                delivery.nextAttemptAt = due
                addTimer(at: due, .callback(id, attempts: attempt))
            }
        }
        if delivery.state != .pending {
            delivery.finishedAt = now
            pendingCallbacks -= 1
        }
        tasks[slot: slot].callback = delivery
        tasks[slot: slot].version += 1
        tasks[slot: slot].updatedAt = now
        if persisting { storeRecord(at: slot, created: false, effects: &effects) }
        if announces() { effects.published.append(.task(tasks[slot: slot])) }
        notifyWaiters(of: id, effects: &effects)
        return true
    }

    /// A retry's timer fired: the attempt is due if the delivery still waits for it.
    mutating func dueCallback(_ id: TaskID, attempts: Int, effects: inout Effects) {
        guard let record = tasks[id], let delivery = record.callback, delivery.state == .pending,
            delivery.attempts == attempts
        else { return }
        if delivering { effects.deliveries.append(DeliveryOrder(record: record, attempt: attempts + 1)) }
    }

    /// Turns delivering on (once an owner can deliver): from now on due attempts are listed in `Effects.deliveries`,
    /// and every delivery pending so far (found by a restart, or finished before) is due at its stored time, or now if
    /// that passed.
    package mutating func startDelivering(now: Timestamp) {
        guard !delivering else { return }
        delivering = true
        guard pendingCallbacks > 0 else { return }
        for id in finished {
            guard let delivery = tasks[id]?.callback, delivery.state == .pending else { continue }
            addTimer(at: max(now, delivery.nextAttemptAt ?? now), .callback(id, attempts: delivery.attempts))
        }
    }

    /// `text` cut to at most `limit` UTF-8 bytes, on a scalar boundary.
    static func cut(_ text: String, to limit: Int) -> String {
        guard text.utf8.count > limit else { return text }
        var kept = String.UnicodeScalarView()
        var bytes = 0
        for scalar in text.unicodeScalars {
            bytes += UTF8.width(scalar)
            if bytes > limit { break }
            kept.append(scalar)
        }
        return String(kept)
    }
}
