import Foundation

/// One message delivered by ``IMAPClient/uidFetch(_:)``.
public struct FetchedMessage: Sendable, Equatable {
    /// The message UID (meaningful together with the mailbox's UIDVALIDITY).
    public var uid: UInt32
    /// `RFC822.SIZE` as reported by the server.
    public var size: Int?
    /// `INTERNALDATE` (arrival time at the server).
    public var internalDate: Date?
    /// Flags such as `\Seen`, as sent by the server.
    public var flags: [String]
    /// The raw RFC 5322 message (`BODY[]`), copied exactly once from the network.
    public var body: [UInt8]

    /// Creates a message value.
    public init(uid: UInt32, size: Int?, internalDate: Date?, flags: [String], body: [UInt8]) {
        self.uid = uid
        self.size = size
        self.internalDate = internalDate
        self.flags = flags
        self.body = body
    }
}

extension FetchedMessage: CustomStringConvertible {
    /// Metadata only: message bodies can be large and contain personal data.
    public var description: String {
        "FetchedMessage(uid: \(self.uid), size: \(self.size.map(String.init) ?? "nil"), flags: \(self.flags), body: \(self.body.count) bytes)"
    }
}
