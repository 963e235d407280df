import Foundation
import IMAP
import Logging
import MIME
import MailroomCore
import Storage

/// What one pass over a mailbox did.
public struct SyncReport: Sendable, Equatable {
    public var fetched = 0
    public var openedTickets = 0
    public var joinedTickets = 0
    public var duplicates = 0
    public var deletedFromServer = 0
    public var uidValidityChanged = false
    /// Messages over the size limit, filed as a notice and left on the server.
    public var tooLarge = 0
    /// Messages the server listed but returned no content for, filed as a notice and left on the server.
    public var unreadable = 0
    public init() {}

    mutating func count(_ outcome: IngestOutcome) {
        switch outcome {
        case .openedTicket: openedTickets += 1
        case .joinedTicket: joinedTickets += 1
        case .duplicate: duplicates += 1
        }
    }
}

/// One pass of InboundSync over one mailbox: fetch what is new after the watermark, file each message with
/// its watermark in one transaction, and only then touch the server (delete-after-fetch).
public struct MailboxSyncer: Sendable {
    let store: any MailroomStore
    let signIn: IMAPSignIn
    let settings: SyncSettings
    let logger: Logger
    let health: HealthRecorder

    /// - Parameter tokens: renews OAuth access tokens; without it, only password mailboxes can be fetched.
    public init(store: any MailroomStore, vault: any SecretVault, tokens: TokenKeeper? = nil, settings: SyncSettings, logger: Logger) {
        self.store = store
        self.signIn = IMAPSignIn(store: store, vault: vault, tokens: tokens)
        self.settings = settings
        self.logger = logger
        self.health = HealthRecorder(store: store, logger: logger)
    }

    /// Syncs once and records the outcome in the mailbox's health; never throws for server trouble.
    @discardableResult
    public func syncAndRecord(_ mailbox: Mailbox) async -> Result<SyncReport, ConnectionFailure> {
        guard let server = mailbox.incoming else { return .success(SyncReport()) }
        let started = Date()
        do {
            let report = try await sync(mailbox, server: server)
            await recordSuccess(report, mailbox: mailbox, server: server, startedAt: started)
            return .success(report)
        } catch {
            return .failure(await recordFailure(error, mailbox: mailbox, server: server, startedAt: started))
        }
    }

    /// Records a pass that worked: the mailbox is «Connected».
    func recordSuccess(_ report: SyncReport, mailbox: Mailbox, server: IncomingServer, startedAt: Date) async {
        EngineMetrics.filed(report)
        await health.succeeded(mailbox, .incoming, works: "Fetching works (\(server.host):\(server.port), folder \(server.folder)).", startedAt: startedAt)
        if report.fetched > 0 {
            logger.info("Fetched mail", metadata: [
                "mailbox": "\(mailbox.id)", "fetched": "\(report.fetched)", "opened": "\(report.openedTickets)",
                "joined": "\(report.joinedTickets)", "duplicates": "\(report.duplicates)",
            ])
        }
    }

    /// Records a failed pass as Diagnosis judges it and returns it restated as a ``ConnectionFailure``.
    func recordFailure(_ error: any Error, mailbox: Mailbox, server: IncomingServer, startedAt: Date) async -> ConnectionFailure {
        switch error {
        case let failure as ConnectionFailure:
            let verdict = Diagnosis.incoming(failure, server: server, provider: mailbox.provider)
            let next = await health.failed(mailbox, .incoming, verdict, startedAt: startedAt)
            logger.warning("Fetching failed", metadata: ["mailbox": "\(mailbox.id)", "state": "\(next.state.rawValue)", "detail": "\(verdict.detail ?? "")"])
            return failure
        case is CancellationError:
            // Shutting down: nothing failed.
            return ConnectionFailure(kind: .commandFailed(code: nil), serverText: "stopped", step: "store")
        default:
            // Not the mail server's fault (the database, the vault): the mailbox still shows it, with its cause.
            logger.error("Sync stopped by an internal error", metadata: ["mailbox": "\(mailbox.id)", "error": "\(error)"])
            _ = await health.failed(mailbox, .incoming, Diagnosis.storeFailed("\(error)"), startedAt: startedAt)
            return ConnectionFailure(kind: .commandFailed(code: nil), serverText: "\(error)", step: "store")
        }
    }

    /// One pass; throws ConnectionFailure for anything the server did.
    public func sync(_ mailbox: Mailbox, server: IncomingServer) async throws -> SyncReport {
        let credential = try await signIn.credential(for: mailbox, server: server)
        return try await IMAPSession.with(server, settings: settings, logger: logger) { client in
            try await signIn.signIn(client, as: credential, mailbox: mailbox, server: server)
            return try await pass(mailbox, server: server, client: client)
        }
    }

    /// Keeps one session open on the mailbox (push): catch up, then wait in IDLE and fetch the moment the server
    /// announces mail; without IDLE, fetch again every poll interval on the same session. A session lives at most
    /// ``SyncSettings/reconcileInterval``: the next one signs in afresh (so a changed password or a revoked sign-in
    /// shows even on servers that keep old sessions open) and runs a full pass, so a server that fails to announce
    /// mail cannot hide it.
    ///
    /// Returns when the session has lived its time or `interrupt` fires (the caller reloads the mailbox and calls
    /// again); throws ``ConnectionFailure`` when the session fails or drops. `synced` follows every pass that worked.
    func watch(
        _ mailbox: Mailbox, server: IncomingServer, interrupt: @escaping @Sendable () async -> Void,
        synced: (SyncReport) async -> Void
    ) async throws {
        let credential = try await signIn.credential(for: mailbox, server: server)
        try await IMAPSession.with(server, settings: settings, logger: logger) { client in
            try await signIn.signIn(client, as: credential, mailbox: mailbox, server: server)
            EngineMetrics.sessionsOpen.increment()
            defer { EngineMetrics.sessionsOpen.decrement() }
            let opened = ContinuousClock.now
            await synced(try await pass(mailbox, server: server, client: client))
            let idle = await client.supportsIdle
            while !Task.isCancelled {
                let left = settings.reconcileInterval - (ContinuousClock.now - opened)
                guard left > .zero else { return }
                let outcome: IdleOutcome
                if idle {
                    EngineMetrics.sessionsIdle.increment()
                    defer { EngineMetrics.sessionsIdle.decrement() }
                    outcome = try await client.idle(renewAfter: max(.milliseconds(500), min(settings.idleRenewal, left)), until: interrupt)
                } else {
                    outcome = await Self.sleep(upTo: min(left, settings.pollInterval), interrupt: interrupt)
                }
                let announced = ContinuousClock.now
                switch outcome {
                case .interrupted: return
                case .renew where idle: continue
                case .renew: await synced(try await pass(mailbox, server: server, client: client))
                case .changed:
                    let report = try await pass(mailbox, server: server, client: client)
                    if report.fetched > 0 { EngineMetrics.newMailLatency.record(duration: ContinuousClock.now - announced) }
                    await synced(report)
                }
            }
        }
    }

    /// Waits `duration`, or until `interrupt` fires.
    private static func sleep(upTo duration: Duration, interrupt: @escaping @Sendable () async -> Void) async -> IdleOutcome {
        await withTaskGroup(of: IdleOutcome.self) { group in
            group.addTask {
                try? await Task.sleep(for: duration)
                return .renew
            }
            group.addTask {
                await interrupt()
                return .interrupted
            }
            let first = await group.next() ?? .interrupted
            group.cancelAll()
            return first
        }
    }

    /// One pass on a signed-in session: open the folder, fetch what is new, file it, delete what may be deleted.
    private func pass(_ mailbox: Mailbox, server: IncomingServer, client: IMAPClient) async throws -> SyncReport {
        var report = SyncReport()
        // EXAMINE when mail stays on the server: read-only, so not even \Seen changes.
        let status = try await client.select(server.folder, readOnly: !mailbox.deleteAfterFetch)
        let source = SyncSource.of(server)
        let start = SyncPlan.start(
            stored: try await store.watermark(mailbox.id, folder: server.folder), uidValidity: status.uidValidity, source: source)
        var watermark = start.watermark
        // A group's raw bytes go to the store's archive (when it has one) and reach the disk before its turn to commit,
        // while the group before it is still committing. Not on a rescan, where nearly every message is already
        // filed: the archive would keep a second, unreferenced copy of the whole folder.
        let archive = start.rescan == nil ? Archiving(store: store, logger: logger, mailbox: mailbox.id) : nil
        if let rescan = start.rescan {
            report.uidValidityChanged = true
            try await store.log(mailbox.id, ActivityEntry(at: Date(), kind: "uidvalidity", text: Self.explain(rescan, folder: server.folder)))
        }
        if start.save {
            try await store.setWatermark(mailbox.id, folder: server.folder, watermark, at: Date())
        }
        guard status.exists > 0 else { return report }

        if SyncPlan.looksForLeftovers(deleteAfterFetch: mailbox.deleteAfterFetch, watermark: watermark) {
            let below = try await client.uidSearch("UID 1:\(watermark.lastUID)")
            if !below.isEmpty {
                let stored = try await store.storedUIDs(mailbox: mailbox.id, source: source, uidValidity: status.uidValidity, through: watermark.lastUID)
                report.deletedFromServer += try await delete(SyncPlan.leftovers(onServer: below, stored: stored, watermark: watermark), client: client)
            }
        }

        let newUIDs = SyncPlan.newUIDs(try await client.uidSearch("UID \(UInt64(watermark.lastUID) + 1):*"), above: watermark)
        // A pipeline, across the fetch batches: the connection reads the next messages while earlier ones are parsed
        // (each in its own task, so on another core) and earlier groups are committed, also while the next batch is
        // asked for. Parsed emails join groups in the order they arrived, and groups commit strictly in order, each
        // after the one before, so the watermark only moves forward over filed mail. Messages being parsed and groups
        // waiting to commit are bounded. The pipeline settles (all that was fetched is committed) only where a step
        // needs the watermark to have reached it: notices for oversized or unreadable mail, delete-after-fetch, the end.
        var parsing = ParseQueue()
        defer { parsing.cancelAll() }
        var commits = CommitQueue()
        var group = CommitGroup(mark: watermark)
        var filed: [UInt32] = []
        /// Archives the group's raw bytes at once, then commits it in its turn.
        func enqueue(_ ready: CommitGroup) {
            commits.add { turn in
                let archived = await archive?.write(ready) ?? ready
                try await turn()
                return try await commit(archived, mailbox: mailbox.id, folder: server.folder)
            }
        }
        func file(_ parsed: ParseQueue.Parsed) async throws {
            group.add(parsed.email, uid: parsed.uid, passing: parsed.passing)
            guard settings.closesGroup(emails: group.emails.count, bytes: group.bytes) else { return }
            enqueue(group.take())
            while commits.isFull { try await commits.next()?.tally(into: &report, filed: &filed) }
        }
        /// Commits everything fetched so far; the watermark is then the last group's.
        func settle() async throws {
            while !parsing.isEmpty { try await file(await parsing.next()) }
            enqueue(group.take())
            while let done = try await commits.next() { done.tally(into: &report, filed: &filed) }
            watermark = group.mark
        }
        do {
            for batch in SyncPlan.batches(newUIDs, size: settings.fetchBatchSize) {
                let sizes = try await client.uidSizes(UIDSet(uids: batch))
                let (tooLarge, wanted) = SyncPlan.split(batch, sizes: sizes, limit: settings.maxMessageSize)
                if !tooLarge.isEmpty { try await settle() }
                for uid in tooLarge {
                    // Filed at the watermark reached: if a crash follows, the refetch finds it a duplicate.
                    let notice = IncomingEmail.tooLarge(
                        size: sizes[uid] ?? 0, limit: settings.maxMessageSize, folder: server.folder, uidValidity: status.uidValidity, uid: uid,
                        receivedAt: Date())
                    report.count(try await store.ingest(notice, mailbox: mailbox.id, folder: server.folder, watermark: watermark))
                    report.tooLarge += 1
                }
                var progress = FetchProgress(wanted: wanted)
                for try await message in client.uidFetch(UIDSet(uids: wanted)) {
                    guard let passing = progress.arrived(message.uid) else { continue }
                    parsing.start(message, passing: passing)
                    while parsing.isFull { try await file(await parsing.next()) }
                }
                // Otherwise the batch's groups move the watermark past it as they commit, while the next one streams in.
                let undelivered = progress.undelivered
                guard SyncPlan.settles(after: batch, wanted: wanted, undelivered: undelivered, deleteAfterFetch: mailbox.deleteAfterFetch) else {
                    continue
                }
                try await settle()
                // UIDs that never came back: expunged meanwhile, or the server would not hand them over (BODY[] NIL).
                // The second kind must not be passed silently: file a notice for each before the watermark moves on.
                if !undelivered.isEmpty {
                    let stillThere = Set(try await client.uidSearch("UID \(UIDSet(uids: undelivered))"))
                    let unreadable = undelivered.filter { stillThere.contains($0) }
                    if !unreadable.isEmpty {
                        let notices = unreadable.map {
                            IncomingEmail.unreadable(folder: server.folder, uidValidity: status.uidValidity, uid: $0, receivedAt: Date())
                        }
                        for outcome in try await store.ingest(notices, mailbox: mailbox.id, folder: server.folder, watermark: watermark) {
                            report.count(outcome)
                        }
                        report.unreadable += unreadable.count
                        logger.warning("The server returned no content for some messages; filed notices", metadata: [
                            "mailbox": "\(mailbox.id)", "uids": "\(unreadable)",
                        ])
                    }
                }
                if let next = SyncPlan.afterBatch(batch, watermark: watermark) {
                    watermark = next
                    group.mark = next
                    try await store.setWatermark(mailbox.id, folder: server.folder, watermark, at: Date())
                }
                report.deletedFromServer += try await delete(SyncPlan.deletable(committed: filed, deleteAfterFetch: mailbox.deleteAfterFetch), client: client)
                filed = []
            }
            try await settle()
        } catch {
            // What was fetched still commits (in order, or not at all after a failed group) before the pass ends.
            await commits.settle()
            throw error
        }
        return report
    }

    /// The activity log's words for a rescan.
    static func explain(_ rescan: SyncPlan.Rescan, folder: String) -> String {
        switch rescan {
        case .otherSource:
            "The folder «\(folder)» is now read from another server or account. Rescanning it; mail already filed is recognized and not filed twice, and nothing fetched from the previous account is deleted here."
        case .newUIDValidity(let old, let new):
            "The folder «\(folder)» was recreated on the server (UIDVALIDITY \(old) → \(new)). Rescanning it; mail already filed is recognized and not filed twice."
        }
    }

    /// Files a group of fetched emails with the watermark that covers them in one transaction (one fsync).
    ///
    /// When the store refuses the group for a reason other than being unreachable, one email may be the cause
    /// (a value the database will refuse on every pass): the group is filed one email at a time, each with the
    /// watermark that covers it alone, and an email that still cannot be stored is filed as a notice that says what
    /// went wrong and keeps its raw bytes when they can be stored. So one bad email never stops a mailbox; only a
    /// store that refuses even the notice fails the pass, and that shows on the mailbox.
    private func commit(_ group: CommitGroup, mailbox: MailboxID, folder: String) async throws -> CommittedGroup {
        guard !group.emails.isEmpty else { return CommittedGroup(outcomes: [], uids: []) }
        do {
            let outcomes = try await store.ingest(group.emails, mailbox: mailbox, folder: folder, watermark: group.mark)
            return CommittedGroup(outcomes: outcomes, uids: group.uids)
        } catch let error where Self.mayBeOneMessage(error) {
            logger.warning("A group of emails could not be stored; filing them one at a time", metadata: ["mailbox": "\(mailbox)", "error": "\(error)"])
        }
        var outcomes: [IngestOutcome] = []
        var uids: [UInt32] = []
        for (index, email) in group.emails.enumerated() {
            var mark = group.mark
            mark.lastUID = group.marks[index]
            do {
                outcomes.append(try await store.ingest(email, mailbox: mailbox, folder: folder, watermark: mark))
                uids.append(group.uids[index])
            } catch let error where Self.mayBeOneMessage(error) {
                logger.error("An email could not be stored; filing a notice in its place", metadata: [
                    "mailbox": "\(mailbox)", "uid": "\(group.uids[index])", "error": "\(error)",
                ])
                let problem = "\(error)"
                do {
                    outcomes.append(try await store.ingest(
                        IncomingEmail.unstorable(email, problem: problem, keepRaw: true), mailbox: mailbox, folder: folder, watermark: mark))
                    uids.append(group.uids[index])
                } catch let error where Self.mayBeOneMessage(error) {
                    // Without its bytes the notice stands in for mail that exists only on the server: never deleted.
                    outcomes.append(try await store.ingest(
                        IncomingEmail.unstorable(email, problem: problem, keepRaw: false), mailbox: mailbox, folder: folder, watermark: mark))
                }
            }
        }
        return CommittedGroup(outcomes: outcomes, uids: uids)
    }

    /// Only a refusal of the values written may be caused by the email being filed; a deadlock, a full disk or a
    /// shutdown fails the pass, and the email is fetched again later.
    static func mayBeOneMessage(_ error: any Error) -> Bool {
        if let error = error as? StoreError, case .valueRefused = error { return true }
        return false
    }

    /// Deletes messages that are already committed as tickets. UID EXPUNGE touches only these; without UIDPLUS,
    /// a plain EXPUNGE would also remove what other clients flagged, so then the flag is set and left.
    ///
    /// Mail is filed with commits that reach the disk later (``MailroomStore/makeDurable()``): the durable point
    /// comes first, so a power failure cannot take a ticket whose only other copy was just deleted.
    private func delete(_ uids: [UInt32], client: IMAPClient) async throws -> Int {
        guard !uids.isEmpty else { return 0 }
        try await store.makeDurable()
        try await client.uidStore(UIDSet(uids: uids), addFlags: ["\\Deleted"])
        if await client.capabilities.contains("UIDPLUS") {
            try await client.uidExpunge(UIDSet(uids: uids))
        } else if Set(try await client.uidSearch("DELETED")).isSubset(of: Set(uids)) {
            try await client.expunge()
        }
        return uids.count
    }

    /// Parses raw bytes into what a ticket needs. Only mail without a Message-ID is hashed here, since the hash is
    /// its key; the store hashes other mail only when its key is taken (``FilingPlan/contested(_:filed:)``).
    public static func incomingEmail(raw: [UInt8], receivedAt: Date) -> IncomingEmail {
        let parsed = MessageParser.parse(raw)
        return IncomingEmail(
            parsed: parsed, raw: raw, receivedAt: receivedAt, contentHash: IncomingEmail.isKeyedByContent(parsed) ? ContentHash.of(raw) : "")
    }
}

/// Fetched messages being parsed, each in a task of its own, handed on in the order they arrived.
struct ParseQueue {
    struct Parsed: Sendable {
        var email: IncomingEmail
        var uid: UInt32
        var passing: UInt32
    }

    /// Oldest first; at most ``maxMessages``, so taking from the front is cheap.
    private var pending: [(task: Task<Parsed, Never>, bytes: Int)] = []
    private var bytes = 0
    /// Enough to keep the other core busy; the byte bound keeps large messages from piling up.
    static let maxMessages = 16
    static let maxBytes = 16 << 20

    var isEmpty: Bool { pending.isEmpty }
    var isFull: Bool { pending.count >= Self.maxMessages || bytes >= Self.maxBytes }

    mutating func start(_ message: FetchedMessage, passing: UInt32) {
        let raw = message.body, uid = message.uid, received = message.internalDate ?? Date()
        pending.append((Task {
            var email = MailboxSyncer.incomingEmail(raw: raw, receivedAt: received)
            email.sourceUID = uid
            return Parsed(email: email, uid: uid, passing: passing)
        }, raw.count))
        bytes += raw.count
    }

    /// The oldest message's email; only when not empty.
    mutating func next() async -> Parsed {
        let (task, size) = pending.removeFirst()
        bytes -= size
        return await task.value
    }

    func cancelAll() { pending.forEach { $0.task.cancel() } }
}

/// Writes a group's raw messages to the store's archive. When the archive cannot take them (a full disk), the
/// group keeps them and its rows store them, as without an archive; what was written is left unreferenced.
struct Archiving: Sendable {
    let store: any MailroomStore
    let logger: Logger
    let mailbox: MailboxID

    func write(_ group: CommitGroup) async -> CommitGroup {
        guard !group.emails.isEmpty else { return group }
        do {
            guard let locations = try await store.archive(group.emails.map(\.raw)), locations.count == group.emails.count else { return group }
            var archived = group
            for index in archived.emails.indices { archived.emails[index].archived = locations[index] }
            return archived
        } catch {
            logger.warning("Could not write mail to the mail archive; storing it in the database", metadata: [
                "mailbox": "\(mailbox)", "uids": "\(group.uids)", "error": "\(error)",
            ])
            return group
        }
    }
}

/// Groups being committed, strictly in order: each commit starts when the one before has finished, and not at all
/// when it failed. A few may wait behind the one in progress, so fetching and parsing go on meanwhile.
struct CommitQueue {
    /// Oldest first. A group leaves when its result is taken, so the last one here is the one a new group follows.
    private var pending: [Task<CommittedGroup, any Error>] = []
    /// Groups committing or waiting; each holds at most ``SyncSettings/commitGroupBytes``.
    static let maxGroups = 3

    var isFull: Bool { pending.count >= Self.maxGroups }

    /// - Parameter work: starts at once, beside the groups before; it calls `turn` before it commits, which returns
    ///   once the group before has committed and throws when it failed.
    mutating func add(_ work: @escaping @Sendable (_ turn: @Sendable () async throws -> Void) async throws -> CommittedGroup) {
        let before = pending.last
        pending.append(Task {
            try await work { if let before { _ = try await before.value } }
        })
    }

    /// The oldest group's result, once committed; nil when none is left.
    mutating func next() async throws -> CommittedGroup? {
        guard !pending.isEmpty else { return nil }
        return try await pending.removeFirst().value
    }

    /// Waits for every group still committing or waiting, whatever its outcome.
    func settle() async {
        for task in pending { _ = try? await task.value }
    }
}

/// Fetched emails waiting to be committed together, and the watermark they will move to.
struct CommitGroup: Sendable {
    var emails: [IncomingEmail] = []
    var uids: [UInt32] = []
    /// The watermark that covers the emails up to each one, for filing them one at a time.
    var marks: [UInt32] = []
    var bytes = 0
    var mark: SyncWatermark

    init(mark: SyncWatermark) { self.mark = mark }

    /// Hands over the emails gathered so far (with the watermark that covers them) and starts a new group.
    mutating func take() -> CommitGroup {
        let ready = self
        emails.removeAll(keepingCapacity: true)
        uids.removeAll(keepingCapacity: true)
        marks.removeAll(keepingCapacity: true)
        bytes = 0
        return ready
    }

    mutating func add(_ email: IncomingEmail, uid: UInt32, passing lastUID: UInt32) {
        emails.append(email)
        uids.append(uid)
        bytes += email.raw.count
        mark.lastUID = max(mark.lastUID, lastUID)
        marks.append(mark.lastUID)
    }
}

/// What one commit filed.
struct CommittedGroup: Sendable {
    var outcomes: [IngestOutcome]
    var uids: [UInt32]

    func tally(into report: inout SyncReport, filed: inout [UInt32]) {
        outcomes.forEach { report.count($0) }
        report.fetched += outcomes.count
        filed += uids
    }
}

extension IMAPSecurity {
    init(_ security: TransportSecurity) {
        switch security {
        case .tls: self = .tls
        case .starttls: self = .starttls
        case .none: self = .none
        }
    }
}
