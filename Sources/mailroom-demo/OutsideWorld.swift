import Logging
import SMTP

/// The demo's stand-in for the Internet: where the mail server relays what Mailroom sends.
///
/// Every recipient gets the message in a mailbox of the same name on the demo's mail server, so an
/// agent's reply lands in the customer's mailbox, and a notice lands in the admin's.
struct OutsideWorld: Sendable {
    let receiver: SMTPReceiver

    init(port: Int, mailServer: DemoMailServer, log: DemoLog, logger: Logger) {
        receiver = SMTPReceiver(
            configuration: SMTPReceiverConfiguration(host: "127.0.0.1", port: port, hostname: "internet.demo"),
            acceptsRecipient: { _ in true },
            store: { message in
                for recipient in message.recipients {
                    try await mailServer.deliver(message.data, to: recipient)
                }
                log.say("→ sent by Mailroom to \(message.recipients.joined(separator: ", ")) (from \(message.envelopeFrom))")
            },
            logger: logger)
    }
}
