import Foundation

/// The `msg-att` items of one `* n FETCH (…)` response that we use. Other items are skipped.
struct MessageAttributes: Sendable, Equatable {
    var uid: UInt32?
    var size: Int?
    var internalDate: Date?
    var flags: [String]?
    var modSeq: UInt64?
    /// `BODY[]` / `BODY.PEEK[]` / `RFC822` content. `nil` when absent or `NIL`.
    var body: [UInt8]?

    /// Fills gaps from a later FETCH response for the same message (servers may split attributes).
    mutating func merge(_ other: MessageAttributes) {
        self.uid = other.uid ?? self.uid
        self.size = other.size ?? self.size
        self.internalDate = other.internalDate ?? self.internalDate
        self.flags = other.flags ?? self.flags
        self.modSeq = other.modSeq ?? self.modSeq
        self.body = other.body ?? self.body
    }
}
