import Foundation
import Logging
import MailroomCore

/// Records what one attempt on one direction of a mailbox came to: the new health (with a pending Basic→OAuth
/// migration kept in view), and an activity-log entry whenever the state or the server's words change.
/// Inbound sync and the outbox both go through here, so both directions read the same way.
public struct HealthRecorder: Sendable {
    let store: any MailroomStore
    let logger: Logger

    public init(store: any MailroomStore, logger: Logger) {
        self.store = store
        self.logger = logger
    }

    /// - Parameter works: the activity-log text when the direction starts working again.
    /// - Parameter startedAt: when the attempt began. A result older than the last recorded attempt is dropped:
    ///   a sync that started with the old password must not undo the fix the admin saved meanwhile.
    @discardableResult
    public func succeeded(_ mailbox: Mailbox, _ direction: Direction, works: String, startedAt: Date? = nil, at now: Date = Date()) async -> ConnectionHealth {
        let previous = await current(mailbox.id, direction)
        if isStale(startedAt, previous) { return previous }
        let mailbox = await configured(mailbox)
        let next = Diagnosis.effective(previous.succeeded(at: now), mailbox: mailbox, direction: direction)
        await save(mailbox, direction, previous: previous, next: next, text: works, at: now)
        return next
    }

    @discardableResult
    public func failed(_ mailbox: Mailbox, _ direction: Direction, _ verdict: Diagnosis.Verdict, startedAt: Date? = nil, at now: Date = Date()) async -> ConnectionHealth {
        let previous = await current(mailbox.id, direction)
        if isStale(startedAt, previous) {
            logger.debug("Dropped a result older than the mailbox's last change", metadata: ["mailbox": "\(mailbox.id)"])
            return previous
        }
        let mailbox = await configured(mailbox)
        let next = Diagnosis.effective(previous.failed(verdict, at: now), mailbox: mailbox, direction: direction)
        let text = [next.cause, verdict.detail.map { "(\($0))" }].compactMap { $0 }.joined(separator: " ")
        await save(mailbox, direction, previous: previous, next: next, text: text, at: now)
        return next
    }

    /// Puts a direction in the state its configuration alone implies (a Microsoft mailbox still on Basic Auth),
    /// without waiting for an attempt. Returns whether anything changed.
    @discardableResult
    public func applyConfiguration(_ mailbox: Mailbox, _ direction: Direction, at now: Date = Date()) async -> Bool {
        let previous = await current(mailbox.id, direction)
        // A replacement after this read (see ``fresh(_:)``) changes the health judged from, and the write is refused.
        guard let mailbox = await fresh(mailbox.id) else { return false }
        let next = Diagnosis.effective(previous, mailbox: mailbox, direction: direction)
        guard next.state != previous.state else { return false }
        var marked = next
        marked.since = now
        return await save(mailbox, direction, previous: previous, next: marked, text: next.cause ?? next.state.displayName, at: now, onlyOver: true)
    }

    /// Whether the configuration alone implies another state than `health` (cheap: no read; the change itself
    /// is made by ``applyConfiguration(_:_:at:)`` from a fresh read).
    static func configurationChanges(_ health: ConnectionHealth, mailbox: Mailbox, direction: Direction) -> Bool {
        Diagnosis.effective(health, mailbox: mailbox, direction: direction).state != health.state
    }

    /// Clears a direction after its sign-in was replaced and tested, so the banner goes at once.
    public func reset(_ mailbox: Mailbox, _ direction: Direction, text: String, at now: Date = Date()) async {
        let previous = await current(mailbox.id, direction)
        var next = Diagnosis.effective(previous.succeeded(at: now), mailbox: mailbox, direction: direction)
        next.lastSuccessAt = previous.lastSuccessAt
        await save(mailbox, direction, previous: previous, next: next, text: text, at: now)
    }

    /// The mailbox as configured now, read after its health: a caller's copy may predate a sign-in replaced since
    /// (a pass that began after the reset, on a session opened with the password), and judged by that copy a
    /// mailbox already on OAuth was marked «Migration to OAuth required» again. Nil when it cannot be read.
    private func fresh(_ id: MailboxID) async -> Mailbox? {
        try? await store.mailbox(id)
    }

    /// ``fresh(_:)``, or the caller's copy when the mailbox cannot be read.
    private func configured(_ mailbox: Mailbox) async -> Mailbox {
        await fresh(mailbox.id) ?? mailbox
    }

    private func isStale(_ startedAt: Date?, _ previous: ConnectionHealth) -> Bool {
        guard let startedAt, let last = previous.lastAttemptAt else { return false }
        return last > startedAt
    }

    private func current(_ id: MailboxID, _ direction: Direction) async -> ConnectionHealth {
        (try? await store.health(id)[direction]) ?? ConnectionHealth()
    }

    /// - Parameter onlyOver: save only over `previous` as it was read (``MailroomStore/replaceHealth(_:_:_:ifStill:)``).
    /// - Returns: whether it was saved.
    @discardableResult
    private func save(
        _ mailbox: Mailbox, _ direction: Direction, previous: ConnectionHealth, next: ConnectionHealth, text: String, at now: Date, onlyOver: Bool = false
    ) async -> Bool {
        do {
            if onlyOver {
                guard try await store.replaceHealth(mailbox.id, direction, next, ifStill: previous) else { return false }
            } else {
                try await store.setHealth(mailbox.id, direction, next)
            }
            if previous.state != next.state || previous.detail != next.detail {
                let label = direction == .incoming ? "Incoming" : "Outgoing"
                try await store.log(mailbox.id, ActivityEntry(at: now, kind: next.state.rawValue, text: "\(label): \(text)"))
            }
            return true
        } catch {
            logger.error("Could not record the connection state", metadata: ["mailbox": "\(mailbox.id)", "error": "\(error)"])
            return false
        }
    }
}
