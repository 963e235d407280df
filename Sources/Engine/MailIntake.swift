import Foundation
import Logging
import MailroomCore
import SMTP

/// «Outgoing only»: the customer's own server forwards support mail to Mailroom's SMTP receiver. This decides
/// which recipients are ours and files what arrives, before the sender is told `250`.
public struct MailIntake: Sendable {
    let store: any MailroomStore
    let logger: Logger

    public init(store: any MailroomStore, logger: Logger) {
        self.store = store
        self.logger = logger
    }

    /// Only the addresses of «Outgoing only» mailboxes: the receiver never relays and never accepts other mail.
    /// Throws when the mailboxes cannot be read, so the sender hears `451` and retries instead of a `550`
    /// that would bounce a customer's mail over a database hiccup.
    public func accepts(_ recipient: String) async throws -> Bool {
        Self.mailbox(for: recipient, in: try await store.mailboxes()) != nil
    }

    /// Files the message on every addressed mailbox; throws (so the sender hears `451` and retries) if it cannot.
    /// A recipient whose mailbox was removed since RCPT is skipped; a database error is never taken for that.
    public func store(_ message: ReceivedMessage) async throws {
        let mailboxes = try await store.mailboxes()
        var filed = Set<MailboxID>()
        for recipient in message.recipients {
            guard let mailbox = Self.mailbox(for: recipient, in: mailboxes), filed.insert(mailbox.id).inserted else { continue }
            let email = MailboxSyncer.incomingEmail(raw: message.data, receivedAt: Date())
            let outcome = try await store.receive(email, mailbox: mailbox.id)
            logger.info("Mail received over SMTP", metadata: [
                "mailbox": "\(mailbox.id)", "outcome": "\(outcome)", "bytes": "\(message.data.count)",
                "remote": "\(message.remoteAddress ?? "?")", "tls": "\(message.encrypted)",
            ])
        }
    }

    private static func mailbox(for address: String, in mailboxes: [Mailbox]) -> Mailbox? {
        let wanted = address.lowercased()
        return mailboxes.first { $0.usage == .outgoing && $0.email.lowercased() == wanted }
    }
}
