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
    public func accepts(_ recipient: String) async -> Bool {
        await mailbox(for: recipient) != nil
    }

    /// Files the message on every addressed mailbox; throws (so the sender hears `451` and retries) if it cannot.
    public func store(_ message: ReceivedMessage) async throws {
        var filed = Set<MailboxID>()
        for recipient in message.recipients {
            guard let mailbox = await mailbox(for: recipient), filed.insert(mailbox.id).inserted else { continue }
            let email = MailboxSyncer.incomingEmail(raw: message.data, receivedAt: Date())
            let outcome = try await store.receive(email, mailbox: mailbox.id)
            logger.info("Mail received over SMTP", metadata: ["mailbox": "\(mailbox.id)", "outcome": "\(outcome)"])
        }
    }

    private func mailbox(for address: String) async -> Mailbox? {
        let wanted = address.lowercased()
        return try? await store.mailboxes().first { $0.usage == .outgoing && $0.email.lowercased() == wanted }
    }
}
