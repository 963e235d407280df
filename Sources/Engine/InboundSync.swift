import Foundation
import Logging
import MailroomCore
import ServiceLifecycle

/// The inbound worker: polls every enabled mailbox that fetches mail, a few at a time. One mailbox's failure
/// is recorded on that mailbox and never stops the others.
public final class InboundSync: Service, Sendable {
    private let syncer: MailboxSyncer
    private let store: any MailroomStore
    private let settings: SyncSettings
    private let logger: Logger
    private let doorbell = Doorbell()
    private let schedule = Schedule()

    public init(store: any MailroomStore, vault: any SecretVault, tokens: TokenKeeper? = nil, settings: SyncSettings, logger: Logger) {
        self.store = store
        self.settings = settings
        self.logger = logger
        self.syncer = MailboxSyncer(store: store, vault: vault, tokens: tokens, settings: settings, logger: logger)
    }

    /// Asks for a pass now, e.g. after a mailbox was added.
    public func wake() async { await doorbell.ring() }

    /// Fetches this mailbox on the next pass, whatever its backoff said: its sign-in was just fixed.
    public func retryNow(_ id: MailboxID) async {
        await schedule.forget(id)
        await doorbell.ring()
    }

    public func run() async throws {
        logger.info("Inbound sync started", metadata: ["poll_interval": "\(settings.pollInterval)"])
        await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                await self.pass()
                await self.doorbell.wait(upTo: self.settings.pollInterval)
            }
        }
        logger.info("Inbound sync stopped")
    }

    /// Syncs every due mailbox once.
    public func pass() async {
        let mailboxes: [Mailbox]
        do {
            mailboxes = try await store.mailboxes().filter { $0.enabled && $0.usage.fetchesMail && $0.incoming != nil }
        } catch {
            logger.error("Cannot list mailboxes", metadata: ["error": "\(error)"])
            return
        }
        let now = ContinuousClock.now
        var due: [Mailbox] = []
        for mailbox in mailboxes where await schedule.isDue(mailbox.id, at: now) { due.append(mailbox) }
        await withTaskGroup(of: Void.self) { group in
            var running = 0
            for mailbox in due {
                if running >= max(1, settings.maxConcurrentMailboxes) {
                    await group.next()
                    running -= 1
                }
                group.addTask {
                    let result = await self.syncer.syncAndRecord(mailbox)
                    let health = (try? await self.store.health(mailbox.id)[.incoming]) ?? ConnectionHealth()
                    await self.schedule.record(mailbox.id, result: result, health: health, pollInterval: self.settings.pollInterval)
                }
                running += 1
            }
        }
    }
}

/// When each mailbox is next due. A failing mailbox backs off (exponentially, capped) so a rejected password
/// is not tried against the server every minute.
actor Schedule {
    private var nextAttempt: [MailboxID: ContinuousClock.Instant] = [:]
    /// Failures in a row, counted here too: an internal error (database, key) leaves the stored health as it
    /// was, and must back off all the same.
    private var failures: [MailboxID: Int] = [:]

    func forget(_ id: MailboxID) {
        nextAttempt[id] = nil
        failures[id] = nil
    }

    func isDue(_ id: MailboxID, at now: ContinuousClock.Instant) -> Bool {
        guard let next = nextAttempt[id] else { return true }
        return next <= now
    }

    func record(_ id: MailboxID, result: Result<SyncReport, ConnectionFailure>, health: ConnectionHealth, pollInterval: Duration) {
        switch result {
        case .success:
            nextAttempt[id] = nil
            failures[id] = nil
        case .failure:
            let count = (failures[id] ?? 0) + 1
            failures[id] = count
            let cap: Duration = health.state.needsAdmin ? .seconds(3600) : .seconds(600)
            let delay = min(pollInterval * (1 << min(count - 1, 12)), cap)
            // Up to a sixth of jitter, so many mailboxes on one server do not retry in lockstep.
            let jitter = delay * Double.random(in: 0...0.16)
            nextAttempt[id] = count <= 1 ? nil : ContinuousClock.now + delay + jitter
        }
    }
}
