/// What one sync pass over a folder may do, decided from what the server and the store said — no I/O.
///
/// `MailboxSyncer` asks and executes; the README's guarantees for incoming mail live here, where a table test can
/// prove them without a server: the watermark never passes a UID that is not filed, a new UIDVALIDITY or another
/// account behind the same folder name rescans, oversized and unreadable mail is filed as a notice (never skipped
/// in silence), and only mail whose content is committed, counted on the same source, may be deleted.
public enum SyncPlan {
    /// Why the stored position is void and the folder is read again from UID 1.
    public enum Rescan: Sendable, Equatable {
        /// Another server, account or folder now stands behind the same folder name: its UIDs are other messages.
        case otherSource
        /// The folder was recreated (RFC 9051 §2.3.1.1): every stored UID is void.
        case newUIDValidity(old: UInt32, new: UInt32)
    }

    /// Where a pass starts counting.
    public struct Start: Sendable, Equatable {
        public var watermark: SyncWatermark
        /// Whether `watermark` must be saved before anything is fetched (a first pass, an adopted or a reset position).
        public var save: Bool
        /// Set when the stored position was void; the activity log says so.
        public var rescan: Rescan?

        public init(watermark: SyncWatermark, save: Bool, rescan: Rescan?) {
            self.watermark = watermark
            self.save = save
            self.rescan = rescan
        }
    }

    /// The position a pass starts from, given what the store holds and what the server's folder says now.
    public static func start(stored: SyncWatermark?, uidValidity: UInt32, source: String) -> Start {
        guard let stored else {
            return Start(watermark: SyncWatermark(uidValidity: uidValidity, lastUID: 0, source: source), save: true, rescan: nil)
        }
        let fresh = SyncWatermark(uidValidity: uidValidity, lastUID: 0, source: source)
        if let counted = stored.source, counted != source {
            return Start(watermark: fresh, save: true, rescan: .otherSource)
        }
        if stored.uidValidity != uidValidity {
            return Start(watermark: fresh, save: true, rescan: .newUIDValidity(old: stored.uidValidity, new: uidValidity))
        }
        if stored.source == nil {
            // A position saved before sources were recorded belongs to the server it was counted on: this one.
            var adopted = stored
            adopted.source = source
            return Start(watermark: adopted, save: true, rescan: nil)
        }
        return Start(watermark: stored, save: false, rescan: nil)
    }

    /// Whether to look for mail below the watermark that was filed but not yet deleted (a crash between a commit
    /// and its EXPUNGE).
    public static func looksForLeftovers(deleteAfterFetch: Bool, watermark: SyncWatermark) -> Bool {
        deleteAfterFetch && watermark.lastUID > 0
    }

    /// Of the UIDs still on the server at or below the watermark, those that may be deleted now: only those whose
    /// content the store holds for this source and UIDVALIDITY. A notice for mail too large or unreadable stands in
    /// for mail that exists only on the server, so its UID is not among `stored`.
    public static func leftovers(onServer: [UInt32], stored: Set<UInt32>, watermark: SyncWatermark) -> [UInt32] {
        onServer.filter { $0 <= watermark.lastUID && stored.contains($0) }.sorted()
    }

    /// The UIDs to fetch: those above the watermark, in order (a server's `n:*` also returns the highest UID when
    /// it is below `n`, RFC 9051 §6.4.8, so the search result is filtered again).
    public static func newUIDs(_ searched: [UInt32], above watermark: SyncWatermark) -> [UInt32] {
        Array(Set(searched.filter { $0 > watermark.lastUID })).sorted()
    }

    /// The new UIDs in fetch batches of at most `size` (at least one).
    public static func batches(_ uids: [UInt32], size: Int) -> [[UInt32]] {
        uids.chunks(of: size)
    }

    /// Splits a batch by the sizes the server reported: mail over `limit` is filed as a notice and left on the
    /// server; the rest is downloaded. A UID the server gave no size for is downloaded (its fetch says the rest).
    public static func split(_ batch: [UInt32], sizes: [UInt32: Int], limit: Int) -> (tooLarge: [UInt32], wanted: [UInt32]) {
        var tooLarge: [UInt32] = []
        var wanted: [UInt32] = []
        for uid in batch {
            if (sizes[uid] ?? 0) > limit { tooLarge.append(uid) } else { wanted.append(uid) }
        }
        return (tooLarge, wanted)
    }

    /// The position after a batch: past its last UID, once everything in it is filed (as an email or a notice) or
    /// gone from the server. Nil when the position already covers it.
    public static func afterBatch(_ batch: [UInt32], watermark: SyncWatermark) -> SyncWatermark? {
        guard let last = batch.max(), watermark.lastUID < last else { return nil }
        var next = watermark
        next.lastUID = last
        return next
    }

    /// Whether everything fetched must be committed before the pass goes on to the next batch. Fetching runs ahead
    /// of the commits across batches, except where a step needs the watermark to have reached the batch's end: a
    /// notice for mail the server did not hand over, a watermark moved past an oversized last UID, delete-after-fetch
    /// (which also needs the connection). Mail too large to fetch settles the pipeline before its notice is filed.
    public static func settles(after batch: [UInt32], wanted: [UInt32], undelivered: [UInt32], deleteAfterFetch: Bool) -> Bool {
        !undelivered.isEmpty || deleteAfterFetch || wanted.max() != batch.max()
    }

    /// What delete-after-fetch may remove after a batch: the UIDs whose content was committed — never one filed
    /// as a notice without its bytes, never one merely fetched.
    public static func deletable(committed: [UInt32], deleteAfterFetch: Bool) -> [UInt32] {
        deleteAfterFetch ? committed : []
    }
}

/// One batch's fetch as it streams in: which UIDs are still awaited, and how far the watermark may move once a
/// message is filed. Servers may answer a UID FETCH out of order; the watermark stops below the lowest UID still
/// awaited, so a crash never leaves an unfiled UID beneath it.
public struct FetchProgress: Sendable, Equatable {
    /// UIDs asked for and not yet delivered.
    public private(set) var awaited: Set<UInt32>
    /// The UIDs asked for, ascending, and the index of the lowest one that may still be awaited: servers answer
    /// nearly in order, so finding the lowest awaited UID costs O(1) per arrival, not a scan of the whole batch.
    private let ascending: [UInt32]
    private var lowest = 0
    /// The highest UID delivered so far: filed in this message's commit group or an earlier one, which commit in order.
    private var highest: UInt32 = 0

    /// - Parameter wanted: the UIDs asked for (a batch without its oversized mail, which is filed as notices first).
    public init(wanted: [UInt32]) {
        awaited = Set(wanted)
        ascending = awaited.sorted()
    }

    /// A message arrived. Returns the highest UID the watermark may pass once it is filed, or nil for a UID that
    /// was not asked for or came twice (which is then ignored).
    public mutating func arrived(_ uid: UInt32) -> UInt32? {
        guard awaited.remove(uid) != nil else { return nil }
        highest = max(highest, uid)
        while lowest < ascending.count, !awaited.contains(ascending[lowest]) { lowest += 1 }
        guard lowest < ascending.count else { return highest }
        return min(highest, ascending[lowest] &- 1)
    }

    /// UIDs the server did not hand over: expunged meanwhile, or unreadable (`BODY[] NIL`). Those still on the
    /// server get a notice before the watermark passes them.
    public var undelivered: [UInt32] { awaited.sorted() }
}
