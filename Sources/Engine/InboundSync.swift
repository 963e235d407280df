import Foundation
import Logging
import MailroomCore
import ServiceLifecycle
import Synchronization

/// The inbound worker: keeps a session per enabled mailbox that fetches mail (push), or polls them a few at a
/// time; with a ``LeaseKeeper``, only the mailboxes this node holds a lease on. One mailbox's failure is recorded
/// on that mailbox and never stops the others.
public final class InboundSync: Service, Sendable {
    private let syncer: MailboxSyncer
    private let store: any MailroomStore
    private let settings: SyncSettings
    private let logger: Logger
    private let doorbell = Doorbell()
    private let schedule = Schedule()
    private let watchers = Watchers()
    /// Which mailboxes this node may fetch when nodes share a database; nil: all of them (one node, and tests).
    private let leases: LeaseKeeper?

    public init(
        store: any MailroomStore, vault: any SecretVault, tokens: TokenKeeper? = nil, settings: SyncSettings, leases: LeaseKeeper? = nil, logger: Logger
    ) {
        self.store = store
        self.settings = settings
        self.logger = logger
        self.leases = leases
        self.syncer = MailboxSyncer(store: store, vault: vault, tokens: tokens, settings: settings, logger: logger)
        // A lease taken or lost starts or stops that mailbox's session at once.
        leases?.onChange { [doorbell] in await doorbell.ring() }
    }

    /// Asks for a pass now, e.g. after a mailbox was added: the lease keeper first takes a lease on a new mailbox
    /// (its change rings this worker's doorbell again).
    public func wake() async {
        await leases?.wake()
        await doorbell.ring()
    }

    /// Fetches this mailbox on the next pass, whatever its backoff said: its sign-in was just fixed. A live
    /// session is ended and opened again with the mailbox's current settings.
    public func retryNow(_ id: MailboxID) async {
        await schedule.forget(id)
        await watchers.interrupt(id)
        await doorbell.ring()
    }

    /// Each mailbox runs on its own clock: a mailbox is started as soon as it is due and a slot is free, and a
    /// slow or dead server holds only its own slot, never the start of another mailbox's attempt.
    public func run() async throws {
        logger.info("Inbound sync started", metadata: ["poll_interval": "\(settings.pollInterval)", "push": "\(settings.push)"])
        if settings.push {
            await cancelWhenGracefulShutdown { await self.runLive() }
            logger.info("Inbound sync stopped")
            return
        }
        await cancelWhenGracefulShutdown {
            await withDiscardingTaskGroup { group in
                while !Task.isCancelled {
                    await WorkerHeartbeats.shared.beat("inbound", every: self.settings.pollInterval)
                    await self.startDue(in: &group)
                    // With every slot taken, the next event is a slot coming free (it rings the doorbell).
                    let wait = await self.schedule.slotsFull(max(1, self.settings.maxConcurrentMailboxes))
                        ? self.settings.pollInterval
                        : await self.schedule.untilNextDue(after: ContinuousClock.now, idle: self.settings.pollInterval)
                    await self.doorbell.wait(upTo: max(wait, .milliseconds(50)))
                }
            }
        }
        logger.info("Inbound sync stopped")
    }

    /// Push: one session per fetching mailbox, each in a task of its own, so a slow or dead server holds only its
    /// own session. The list of mailboxes is read again at every wake and poll interval: a new mailbox gets a
    /// session, a paused or removed one loses it.
    private func runLive() async {
        await withDiscardingTaskGroup { group in
            while !Task.isCancelled {
                let held = leases?.held
                if let mailboxes = try? await store.mailboxes().filter({
                    $0.isFetching && held?.contains($0.id) != false
                }) {
                    await schedule.keepOnly(Set(mailboxes.map(\.id)))
                    for id in await watchers.keepOnly(Set(mailboxes.map(\.id))) {
                        group.addTask {
                            guard let control = await self.watchers.control(id) else { return }
                            await self.watch(id, control: control)
                            await self.watchers.ended(id, control)
                        }
                    }
                }
                await WorkerHeartbeats.shared.beat("inbound", every: settings.pollInterval)
                await doorbell.wait(upTo: settings.pollInterval)
            }
            await watchers.stopAll()
        }
    }

    /// Keeps one mailbox live until it is stopped: a session that catches up and waits in IDLE; when it fails,
    /// the failure is recorded and the next attempt waits out the backoff (or a `retryNow`). A session that had
    /// worked and then dropped (the server restarted, or ended the session as Microsoft does when the access token
    /// expires) is opened again at once, and only a failure of that reconnect is shown to the admin.
    private func watch(_ id: MailboxID, control: Watchers.Control) async {
        var reconnectAtOnce = false
        while !Task.isCancelled, !control.stopped {
            guard let mailbox = try? await store.mailbox(id), mailbox.enabled, mailbox.usage.fetchesMail, let server = mailbox.incoming else {
                return
            }
            let started = Date()
            var worked = false
            do {
                try await syncer.watch(mailbox, server: server, interrupt: { await control.doorbell.wait() }) { report in
                    if !worked { await self.schedule.forget(id) }
                    // The session works: a drop after this is a new episode, worth its own immediate reconnect.
                    worked = true
                    reconnectAtOnce = false
                    await self.syncer.recordSuccess(report, mailbox: mailbox, server: server, startedAt: started)
                }
                continue
            } catch let failure as ConnectionFailure where worked && Self.isDrop(failure) && !reconnectAtOnce {
                logger.info("Session dropped; reconnecting", metadata: ["mailbox": "\(id)", "detail": "\(failure.serverText ?? "\(failure.kind)")"])
                reconnectAtOnce = true
                continue
            } catch {
                if Task.isCancelled || control.stopped { return }
                reconnectAtOnce = false
                let failure = await syncer.recordFailure(error, mailbox: mailbox, server: server, startedAt: started)
                let health = (try? await store.health(id)[.incoming]) ?? ConnectionHealth()
                await schedule.record(id, result: .failure(failure), health: health, pollInterval: settings.pollInterval)
                let delay = await schedule.untilDue(id, after: ContinuousClock.now)
                await control.doorbell.wait(upTo: delay)
            }
        }
    }

    /// A session that ended by the connection, not by a refusal: worth one immediate reconnect.
    static func isDrop(_ failure: ConnectionFailure) -> Bool {
        switch failure.kind {
        case .network, .timeout, .serverUnavailable: true
        default: false
        }
    }

    /// Starts every due mailbox that is not running yet, as far as the slots allow.
    private func startDue(in group: inout DiscardingTaskGroup) async {
        for mailbox in await dueMailboxes() {
            guard await schedule.claimSlot(mailbox.id, limit: max(1, settings.maxConcurrentMailboxes)) else { break }
            group.addTask {
                await self.syncOnce(mailbox)
                await self.schedule.releaseSlot(mailbox.id)
                await self.doorbell.ring()
            }
        }
    }

    /// Syncs every due mailbox once and returns when all have finished (for tests and one-shot runs).
    public func pass() async {
        await withTaskGroup(of: Void.self) { group in
            var running = 0
            for mailbox in await dueMailboxes() {
                if running >= max(1, settings.maxConcurrentMailboxes) {
                    await group.next()
                    running -= 1
                }
                group.addTask { await self.syncOnce(mailbox) }
                running += 1
            }
        }
    }

    private func dueMailboxes() async -> [Mailbox] {
        let mailboxes: [Mailbox]
        do {
            let held = leases?.held
            mailboxes = try await store.mailboxes().filter {
                $0.isFetching && held?.contains($0.id) != false
            }
        } catch {
            logger.error("Cannot list mailboxes", metadata: ["error": "\(error)"])
            return []
        }
        // A paused or removed mailbox leaves the schedule, so its old next-attempt time cannot wake the loop.
        await schedule.keepOnly(Set(mailboxes.map(\.id)))
        let now = ContinuousClock.now
        var due: [Mailbox] = []
        for mailbox in mailboxes where await schedule.isDue(mailbox.id, at: now) { due.append(mailbox) }
        return due
    }

    private func syncOnce(_ mailbox: Mailbox) async {
        let result = await syncer.syncAndRecord(mailbox)
        let health = (try? await store.health(mailbox.id)[.incoming]) ?? ConnectionHealth()
        await schedule.record(mailbox.id, result: result, health: health, pollInterval: settings.pollInterval)
    }
}

/// When each mailbox is next due, and which are running. A healthy mailbox is next due a poll interval after its
/// attempt ended; a failing one backs off (exponentially, capped, never sooner than a `Retry-After`) so a rejected
/// password is not tried against the server every minute.
actor Schedule {
    private var nextAttempt: [MailboxID: ContinuousClock.Instant] = [:]
    /// Failures in a row, counted here too: an internal error (database, key) leaves the stored health as it
    /// was, and must back off all the same.
    private var failures: [MailboxID: Int] = [:]
    private var running: Set<MailboxID> = []

    func forget(_ id: MailboxID) {
        nextAttempt[id] = nil
        failures[id] = nil
    }

    func isDue(_ id: MailboxID, at now: ContinuousClock.Instant) -> Bool {
        guard !running.contains(id) else { return false }
        guard let next = nextAttempt[id] else { return true }
        return next <= now
    }

    /// Marks the mailbox running if fewer than `limit` are.
    func claimSlot(_ id: MailboxID, limit: Int) -> Bool {
        guard running.count < limit, !running.contains(id) else { return false }
        running.insert(id)
        return true
    }

    func releaseSlot(_ id: MailboxID) { running.remove(id) }

    /// Forgets the mailboxes that are no longer worked (paused, removed, outgoing only).
    func keepOnly(_ ids: Set<MailboxID>) {
        nextAttempt = nextAttempt.filter { ids.contains($0.key) }
        failures = failures.filter { ids.contains($0.key) }
    }

    func slotsFull(_ limit: Int) -> Bool { running.count >= limit }

    /// How long until this mailbox is due again.
    func untilDue(_ id: MailboxID, after now: ContinuousClock.Instant) -> Duration {
        guard let next = nextAttempt[id] else { return .zero }
        return max(.zero, next - now)
    }

    /// How long until the next mailbox is due; `idle` when none is scheduled (new mailboxes ring the doorbell).
    func untilNextDue(after now: ContinuousClock.Instant, idle: Duration) -> Duration {
        let waiting = nextAttempt.filter { !running.contains($0.key) }.values
        guard let earliest = waiting.min() else { return idle }
        return min(idle, max(.zero, earliest - now))
    }

    func record(_ id: MailboxID, result: Result<SyncReport, ConnectionFailure>, health: ConnectionHealth, pollInterval: Duration) {
        let now = ContinuousClock.now
        switch result {
        case .success:
            nextAttempt[id] = now + pollInterval
            failures[id] = nil
        case .failure(let failure):
            let count = (failures[id] ?? 0) + 1
            failures[id] = count
            let cap: Duration = health.state.needsAdmin ? .seconds(3600) : .seconds(600)
            let delay = min(pollInterval * (1 << min(count - 1, 12)), cap)
            // Up to a sixth of jitter, so many mailboxes on one server do not retry in lockstep.
            let jitter = count <= 1 ? .zero : delay * Double.random(in: 0...0.16)
            nextAttempt[id] = now + max(delay + jitter, failure.retryAfter ?? .zero)
        }
    }
}

/// The live sessions of push mode, one per mailbox, and how to stop or wake each.
actor Watchers {
    /// One session's controls: its doorbell ends an IDLE or a backoff wait; `stopped` ends the session for good.
    final class Control: Sendable {
        let doorbell = Doorbell()
        private let state = Mutex(false)
        var stopped: Bool { state.withLock { $0 } }
        func stop() async {
            state.withLock { $0 = true }
            await doorbell.ring()
        }
    }

    private var controls: [MailboxID: Control] = [:]

    /// Keeps sessions for exactly `ids`: stops the others and returns the ids that need a session started.
    func keepOnly(_ ids: Set<MailboxID>) async -> [MailboxID] {
        for (id, control) in controls where !ids.contains(id) {
            await control.stop()
            controls[id] = nil
        }
        let new = ids.filter { controls[$0] == nil }
        for id in new { controls[id] = Control() }
        return new.sorted { $0.rawValue < $1.rawValue }
    }

    func control(_ id: MailboxID) -> Control? { controls[id] }

    /// A session ended by itself (its mailbox was paused or removed): the next listing may start it again.
    func ended(_ id: MailboxID, _ control: Control) {
        if controls[id] === control { controls[id] = nil }
    }

    func interrupt(_ id: MailboxID) async {
        await controls[id]?.doorbell.ring()
    }

    func stopAll() async {
        for control in controls.values { await control.stop() }
        controls = [:]
    }
}
