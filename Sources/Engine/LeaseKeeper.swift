import Foundation
import Logging
import MailroomCore
import ServiceLifecycle
import Synchronization

/// Keeps this node's mailbox leases: a heartbeat every lease time ÷ 3 renews them, gives up a surplus and takes
/// free mailboxes up to this node's share (``LeaseBalance``), and publishes the set held, which ``InboundSync``
/// fetches and nothing else. At a graceful shutdown the leases are deleted at once, so other nodes take over at
/// their next heartbeat instead of waiting for expiry.
///
/// The set is published with a deadline on this node's monotonic clock: the start of the last successful renewal
/// plus ⅚ of the lease time. The database's deadline is measured from a later moment on its own clock, so when a
/// renewal fails (the database is unreachable or slow) this node stops fetching before any other may take over.
///
/// In the ServiceGroup it belongs after the database and before `InboundSync`: services stop in reverse order, so
/// fetching stops before the leases are released.
public final class LeaseKeeper: Service, Sendable {
    public struct Settings: Sendable {
        public var node: NodeID
        /// How long a lease lasts without renewal: a dead node's mailboxes wait this long (default 30 s).
        public var leaseTime: Duration

        public init(node: NodeID, leaseTime: Duration = .seconds(30)) {
            self.node = node
            self.leaseTime = max(leaseTime, .milliseconds(300))
        }

        /// Reads `MAILROOM_LEASE_SECONDS` (default 30); `node` comes from the caller (`MAILROOM_NODE_ID`, else a
        /// host name and a random id per process).
        public init(node: NodeID, environment: [String: String]) throws {
            var leaseTime = Duration.seconds(30)
            if let text = environment["MAILROOM_LEASE_SECONDS"], !text.isEmpty {
                guard let seconds = Double(text), seconds >= 1, seconds <= 3600 else {
                    throw LeaseSettingsError(text: text)
                }
                leaseTime = .milliseconds(Int64(seconds * 1000))
            }
            self.init(node: node, leaseTime: leaseTime)
        }

        /// How often leases are renewed: three chances before one expires.
        public var heartbeat: Duration { leaseTime / 3 }
        /// How long after a renewal started its leases count as held here.
        var trusted: Duration { leaseTime * 5 / 6 }
    }

    private struct Held {
        var mailboxes: Set<MailboxID> = []
        var until: ContinuousClock.Instant?
        var observers: [@Sendable () async -> Void] = []
        /// The last heartbeat found this node's name held by another live process.
        var nameTaken = false
        /// The last renewal is recent enough to trust.
        var isCurrent: Bool { until.map { ContinuousClock.now < $0 } ?? false }
    }

    public let settings: Settings
    /// This process start: two processes given one name are told apart by it.
    public let instance = NodeInstance()
    private let store: any MailroomStore & LeaseStore
    private let logger: Logger
    private let state = Mutex(Held())
    private let doorbell = Doorbell()

    public init(store: any MailroomStore & LeaseStore, settings: Settings, logger: Logger) {
        self.store = store
        self.settings = settings
        self.logger = logger
    }

    /// The mailboxes this node may fetch now: empty once the last renewal is too old to trust.
    public var held: Set<MailboxID> {
        state.withLock { $0.isCurrent ? $0.mailboxes : [] }
    }

    /// Whether this node's last heartbeat is recent enough to act as a live node: the outbox sends only then, since
    /// other nodes take over the reply claims of a node whose heartbeat has expired.
    public var isCurrent: Bool {
        state.withLock { $0.isCurrent }
    }

    /// Whether another live process runs under this node's name, so this one holds nothing and sends nothing.
    public var nameTaken: Bool {
        state.withLock { $0.nameTaken }
    }

    /// Calls `observer` whenever the held set changes (``InboundSync`` rings its doorbell).
    public func onChange(_ observer: @escaping @Sendable () async -> Void) {
        state.withLock { $0.observers.append(observer) }
    }

    /// Runs a heartbeat now, e.g. after a mailbox was added.
    public func wake() async { await doorbell.ring() }

    public func run() async throws {
        logger.info("Lease keeper started", metadata: ["node": "\(settings.node)", "lease_seconds": "\(settings.leaseTime)"])
        await cancelWhenGracefulShutdown {
            await withDiscardingTaskGroup { group in
                group.addTask { await self.guardDeadline() }
                while !Task.isCancelled {
                    await self.heartbeat()
                    await self.doorbell.wait(upTo: self.settings.heartbeat)
                }
                group.cancelAll()
            }
        }
        await publish([], until: nil)
        do {
            // In a task of its own: a cancelled run must still let go (a cancelled task's queries may be refused).
            let (store, node, instance) = (store, settings.node, instance)
            try await Task { try await store.departNode(node, instance: instance) }.value
            logger.info("Leases released", metadata: ["node": "\(settings.node)"])
        } catch {
            logger.warning("Could not release the leases; they expire by themselves", metadata: ["error": "\(error)"])
        }
    }

    /// One heartbeat: renew, rebalance, publish. Public for tests, which drive nodes step by step.
    public func heartbeat() async {
        let started = ContinuousClock.now
        let node = settings.node
        do {
            guard case .live(let live) = try await store.heartbeat(node, instance: instance, lasting: settings.leaseTime) else {
                // Renewing now would renew the other process's leases: hold nothing until its heartbeat expires.
                await publish([], until: nil)
                if setNameTaken(true) == false {
                    logger.error("""
                        Another running Mailroom process uses this node's name on the same database, so this one fetches \
                        no mail and sends no reply until that one stops. Give every node its own MAILROOM_NODE_ID.
                        """, metadata: ["node": "\(node)"])
                }
                return
            }
            if setNameTaken(false) {
                logger.notice("This node's name is free again; taking mailboxes", metadata: ["node": "\(node)"])
            }
            var mine = try await store.renewLeases(of: node, lasting: settings.leaseTime)
            let mailboxes = Set(try await store.mailboxes().filter(\.isFetching).map(\.id))
            let plan = LeaseBalance.plan(node: node, liveNodes: live, mailboxes: mailboxes, holders: try await store.leaseHolders())
            if !plan.release.isEmpty {
                // Stop fetching first, then let go: another node may start the moment the row is gone.
                mine.subtract(plan.release)
                await publish(mine, until: started + settings.trusted)
                try await store.releaseLeases(plan.release, of: node)
                logger.info("Leases given up to other nodes", metadata: ["mailboxes": "\(plan.release.map(\.rawValue).sorted())", "share": "\(plan.share)"])
            }
            if plan.acquireLimit > 0, !plan.acquire.isEmpty {
                let won = try await store.acquireLeases(plan.acquire, limit: plan.acquireLimit, for: node, lasting: settings.leaseTime)
                if !won.isEmpty { logger.info("Leases taken", metadata: ["mailboxes": "\(won.map(\.rawValue).sorted())", "share": "\(plan.share)"]) }
                mine.formUnion(won)
            }
            await publish(mine, until: started + settings.trusted)
        } catch {
            // What is held stays held until its deadline; the guard drops it then.
            logger.warning("Lease heartbeat failed", metadata: ["node": "\(node)", "error": "\(error)"])
        }
    }

    /// Records whether the name is taken; returns what it was, so a change is logged once.
    private func setNameTaken(_ taken: Bool) -> Bool {
        state.withLock { held in
            defer { held.nameTaken = taken }
            return held.nameTaken
        }
    }

    /// Drops the held set when its deadline passes without a renewal, even while a heartbeat hangs.
    private func guardDeadline() async {
        while !Task.isCancelled {
            let until = state.withLock { $0.until }
            let now = ContinuousClock.now
            let wake = until.flatMap { $0 > now ? $0 : nil } ?? now + settings.heartbeat
            try? await Task.sleep(until: wake)
            let expired = state.withLock { held in
                guard let until = held.until, ContinuousClock.now >= until else { return false }
                return !held.mailboxes.isEmpty
            }
            if expired {
                logger.warning("Leases not renewed in time; fetching stops until they are", metadata: ["node": "\(settings.node)"])
                await publish([], until: nil)
            }
        }
    }

    private func publish(_ mailboxes: Set<MailboxID>, until: ContinuousClock.Instant?) async {
        let observers: [@Sendable () async -> Void]? = state.withLock { held in
            let wasCurrent = held.isCurrent
            let before = wasCurrent ? held.mailboxes : []
            held.mailboxes = mailboxes
            held.until = until
            // Observers hear of a changed set, and of this node becoming current again (the outbox waits for it).
            return before == mailboxes && (wasCurrent || until == nil) ? nil : held.observers
        }
        EngineMetrics.leasesHeld(mailboxes.count, node: settings.node)
        for observer in observers ?? [] { await observer() }
    }
}

/// `MAILROOM_LEASE_SECONDS` is not a number of seconds from 1 to 3600.
public struct LeaseSettingsError: Error, CustomStringConvertible {
    public let text: String
    public var description: String { "MAILROOM_LEASE_SECONDS must be a number of seconds from 1 to 3600, not «\(text)»." }
}
