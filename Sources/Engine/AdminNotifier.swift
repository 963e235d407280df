import Foundation
import Logging
import MIME
import MailroomCore
import SMTP
import ServiceLifecycle

/// Watches every mailbox's health: marks Microsoft mailboxes still on Basic Auth as «Migration to OAuth required»,
/// and emails the admins once when a mailbox starts needing action (or has been failing for too long) and once
/// when it recovers. What was sent is stored with the health, so a restart never sends it twice.
public struct AdminNotifier: Service {
    public struct Settings: Sendable {
        /// How often the states are checked.
        public var interval: Duration
        /// A temporary failure reaches the admins only when it lasts this long (default one hour).
        public var transientAlertAfter: TimeInterval
        /// Where admins open Mailroom, for the link in the email.
        public var publicURL: String?
        /// The sender of notices; defaults to the relay's username.
        public var from: String?

        public init(interval: Duration = .seconds(30), transientAlertAfter: TimeInterval = 3600, publicURL: String? = nil, from: String? = nil) {
            self.interval = interval
            self.transientAlertAfter = transientAlertAfter
            self.publicURL = publicURL
            self.from = from
        }
    }

    let store: any MailroomStore
    let relay: SMTPRelay?
    let settings: Settings
    let trustedCertificatesPEMFile: String?
    let logger: Logger
    let health: HealthRecorder
    private let doorbell = Doorbell()

    public init(store: any MailroomStore, relay: SMTPRelay?, settings: Settings, trustedCertificatesPEMFile: String? = nil, logger: Logger) {
        self.store = store
        self.relay = relay
        self.settings = settings
        self.trustedCertificatesPEMFile = trustedCertificatesPEMFile
        self.logger = logger
        self.health = HealthRecorder(store: store, logger: logger)
    }

    public func wake() async { await doorbell.ring() }

    public func run() async throws {
        await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                await WorkerHeartbeats.shared.beat("notifier", every: self.settings.interval)
                await self.pass()
                await self.doorbell.wait(upTo: self.settings.interval)
            }
        }
    }

    /// One look at every mailbox: configuration-implied states first, then what the admins must hear.
    public func pass(now: Date = Date()) async {
        let mailboxes: [Mailbox]
        do {
            mailboxes = try await store.mailboxes()
        } catch {
            logger.error("Cannot list mailboxes for notices", metadata: ["error": "\(error)"])
            return
        }
        // One read of every mailbox's health per pass; a mailbox's row is read again only when this pass changed it.
        guard let known = try? await store.allHealth() else {
            logger.error("Cannot read mailbox health for notices")
            return
        }
        var counts: [Direction: [HealthState: Int]] = [:]
        for mailbox in mailboxes {
            for direction in mailbox.ownDirections {
                var found = known[mailbox.id]?[direction]
                if HealthRecorder.configurationChanges(found ?? ConnectionHealth(), mailbox: mailbox, direction: direction),
                   await health.applyConfiguration(mailbox, direction, at: now) {
                    found = try? await store.health(mailbox.id)[direction]
                }
                guard let current = found else { continue }
                counts[direction, default: [:]][current.state, default: 0] += 1
                await notifyIfDue(mailbox, direction, current, now: now)
            }
        }
        EngineMetrics.mailboxes(counts)
    }

    /// Claims the notice before sending it (a compare-and-set on the recorded state), so when several nodes see it
    /// due, one sends it; a failed send gives the claim back, so a later pass (on any node) retries.
    private func notifyIfDue(_ mailbox: Mailbox, _ direction: Direction, _ current: ConnectionHealth, now: Date) async {
        guard let notice = NoticePolicy(transientAlertAfter: settings.transientAlertAfter).notice(for: current, now: now) else { return }
        let told = current.notifiedState
        do {
            guard try await store.markNotified(mailbox.id, direction, from: told, to: notice.markedState, at: now) else { return }
        } catch {
            logger.error("Could not claim a notice", metadata: ["mailbox": "\(mailbox.id)", "error": "\(error)"])
            return
        }
        let admins = (try? await store.admins()) ?? []
        let recipients = admins.map(\.email)
        let outcome: String
        if recipients.isEmpty {
            outcome = "No admin account exists to email; create one with «mailroom admin create»."
        } else if let relay {
            do {
                try await send(notice, mailbox: mailbox, direction: direction, to: recipients, relay: relay, now: now)
                outcome = "Emailed the admins (\(recipients.joined(separator: ", "))): \(notice.subject(mailbox: mailbox.email))."
            } catch {
                // The claim is given back: the next pass tries again, so a notice is late rather than lost.
                logger.warning("Could not email the admins", metadata: ["mailbox": "\(mailbox.id)", "error": "\(error)"])
                _ = try? await store.markNotified(mailbox.id, direction, from: notice.markedState, to: told, at: now)
                return
            }
        } else {
            outcome = "The admins could not be emailed: no default outgoing server is configured (MAILROOM_SMTP_URL)."
        }
        do {
            try await store.log(mailbox.id, ActivityEntry(at: now, kind: "notice", text: outcome))
        } catch {
            logger.error("Could not record a notice", metadata: ["mailbox": "\(mailbox.id)", "error": "\(error)"])
        }
    }

    private func send(_ notice: AdminNotice, mailbox: Mailbox, direction: Direction, to recipients: [String], relay: SMTPRelay, now: Date) async throws {
        let link = settings.publicURL.map { "\($0)/admin/channels/email/\(mailbox.id)" } ?? "Admin › Channels › Email in Mailroom"
        let text = notice.text(mailbox: mailbox.email, direction: direction, link: link)
        let sender = settings.from ?? relay.username.flatMap { $0.contains("@") ? $0 : nil } ?? "mailroom@\(Self.domain(of: mailbox.email))"
        let message = OutgoingMessage(
            from: MailAddress(name: "Mailroom", email: sender), to: recipients.map { MailAddress(email: $0) },
            subject: "[Mailroom] \(notice.subject(mailbox: mailbox.email))", messageID: "mr.notice.\(UUID().uuidString.lowercased())@\(Self.domain(of: sender))",
            date: now, textBody: text, extraHeaders: [("Auto-Submitted", "auto-generated")])
        let built = try MessageBuilder.build(message)
        try await relay.deliver(built.bytes, from: sender, to: built.recipients, trusting: trustedCertificatesPEMFile, logger: logger)
    }

    static func domain(of address: String) -> String {
        address.split(separator: "@").last.map(String.init) ?? "localhost"
    }
}
