import Foundation
import MIME

/// Customers writing in while you watch: every few seconds a new conversation or a reply to an
/// earlier one, some in other scripts and languages, some with attachments, delivered into the demo
/// mailboxes on the mail server, where Mailroom fetches them as it would from a real one.
actor LivingMail {
    private struct Customer {
        let name: String
        let address: String
    }

    private struct Topic {
        let subject: String
        let body: String
        let attachment: OutgoingAttachment?
    }

    private struct Conversation {
        let subject: String
        let customer: Customer
        var messageIDs: [String]
    }

    private let mailServer: DemoMailServer
    private let mailboxes: [String]
    private let log: DemoLog
    /// Distinguishes this run's Message-IDs from any earlier run's.
    private let run = String(UUID().uuidString.prefix(8)).lowercased()
    private var conversations: [String: [Conversation]] = [:]
    private var sent = 0
    private var generator = SystemRandomNumberGenerator()

    init(mailServer: DemoMailServer, mailboxes: [String], log: DemoLog) {
        self.mailServer = mailServer
        self.mailboxes = mailboxes
        self.log = log
    }

    /// Writes one message every `interval` until the task is cancelled.
    func run(every interval: Duration) async {
        while !Task.isCancelled {
            do {
                try await writeOne()
            } catch {
                log.say("Could not deliver customer mail: \(error)")
            }
            try? await Task.sleep(for: interval)
        }
    }

    /// Writes one message: a reply in a third of the cases once there is something to reply to.
    func writeOne() async throws {
        guard let mailbox = mailboxes.randomElement(using: &generator) else { return }
        sent += 1
        let messageID = "demo.\(run).\(sent)@customer.example"
        var open = conversations[mailbox] ?? []
        let message: OutgoingMessage
        if !open.isEmpty, Int.random(in: 0..<3, using: &generator) == 0 {
            let index = Int.random(in: 0..<open.count, using: &generator)
            let conversation = open[index]
            message = OutgoingMessage(
                from: MailAddress(name: conversation.customer.name, email: conversation.customer.address),
                to: [MailAddress(name: nil, email: mailbox)], subject: "Re: \(conversation.subject)", messageID: messageID,
                inReplyTo: conversation.messageIDs.last, references: conversation.messageIDs, date: Date(),
                textBody: Self.followUps.randomElement(using: &generator) ?? "Any news?")
            open[index].messageIDs.append(messageID)
        } else {
            let customer = Self.customers.randomElement(using: &generator) ?? Self.customers[0]
            let number = Int.random(in: 10_000...99_999, using: &generator)
            let topic = Self.topic(number: number, customerName: customer.name, pick: Int.random(in: 0..<7, using: &generator))
            message = OutgoingMessage(
                from: MailAddress(name: customer.name, email: customer.address), to: [MailAddress(name: nil, email: mailbox)],
                subject: topic.subject, messageID: messageID, date: Date(), textBody: topic.body,
                attachments: topic.attachment.map { [$0] } ?? [])
            open.append(Conversation(subject: topic.subject, customer: customer, messageIDs: [messageID]))
            if open.count > 20 { open.removeFirst() }
        }
        conversations[mailbox] = open
        let built = try MessageBuilder.build(message)
        try await mailServer.deliver(built.bytes, to: mailbox)
        let attachment = message.attachments.first.map { " with \($0.filename)" } ?? ""
        log.say("← customer mail to \(mailbox): «\(message.subject)» from \(message.from.name ?? message.from.email)\(attachment)")
    }

    private static let customers = [
        Customer(name: "Zoë Ångström", address: "zoe.angstrom@customer.example"),
        Customer(name: "José Müller", address: "jose.mueller@customer.example"),
        Customer(name: "Priya Natarajan", address: "priya@customer.example"),
        Customer(name: "李雷", address: "li.lei@customer.example"),
        Customer(name: "Olivia Brown", address: "olivia.brown@customer.example"),
        Customer(name: "Søren Holm", address: "soren@customer.example"),
        Customer(name: "Amélie Durand", address: "amelie@customer.example"),
    ]

    private static let followUps = [
        "Hello again, any news on this? Thanks.",
        "I'm still waiting for an answer. Could someone look at it today, please?",
        "Update: I tried again this morning, same problem.",
        "Danke für die schnelle Antwort! Eine Frage noch: gilt das auch für die zweite Lieferung?",
        "Merci ! C'est réglé de mon côté.",
    ]

    private static func topic(number: Int, customerName: String, pick: Int) -> Topic {
        let first = customerName.split(separator: " ").first.map(String.init) ?? customerName
        switch pick {
        case 0:
            return Topic(
                subject: "Order \(number) hasn't arrived",
                body: "Hi,\n\nI ordered on Monday (order \(number)) and the tracking page hasn't changed since. Can you check where it is?\n\nThanks,\n\(first)",
                attachment: nil)
        case 1:
            return Topic(
                subject: "Rückerstattung für Bestellung \(number)",
                body: "Guten Tag,\n\nich habe die Ware vor zwei Wochen zurückgeschickt. Wann bekomme ich mein Geld zurück?\n\nViele Grüße\n\(first)",
                attachment: nil)
        case 2:
            return Topic(
                subject: "Can't sign in to my account",
                body: "Hello,\n\nsince this morning the password reset link says it has expired, every time. What can I do?\n\n\(first)",
                attachment: nil)
        case 3:
            return Topic(
                subject: "Facture \(number) — TVA incorrecte",
                body: "Bonjour,\n\nla TVA sur la facture \(number) est de 20 % au lieu de 5,5 %. Pouvez-vous la corriger ?\n\nCordialement,\n\(first)",
                attachment: OutgoingAttachment(filename: "facture-\(number).pdf", contentType: "application/pdf", bytes: minimalPDF(number)))
        case 4:
            return Topic(
                subject: "订单 \(number) 的发票",
                body: "你好，\n\n请把订单 \(number) 的发票发给我。谢谢！\n\n\(customerName)",
                attachment: nil)
        case 5:
            return Topic(
                subject: "Damaged item in order \(number)",
                body: "Hi,\n\nthe parcel for order \(number) arrived today but the box was crushed and the item is broken. Photo attached.\n\n\(first)",
                attachment: OutgoingAttachment(filename: "damaged item.png", contentType: "image/png", bytes: onePixelPNG))
        default:
            return Topic(
                subject: "Question about invoice \(number)",
                body: "Hello,\n\ncould you send invoice \(number) again with our company name (Ångström & Söner AB) on it?\n\nBest,\n\(first)",
                attachment: OutgoingAttachment(
                    filename: "företagsuppgifter.txt", contentType: "text/plain",
                    bytes: Array("Ångström & Söner AB\nStorgatan 1\n111 22 Stockholm\n".utf8)))
        }
    }

    /// A one-page PDF with one line of text: enough for a viewer to open.
    private static func minimalPDF(_ number: Int) -> [UInt8] {
        let content = "BT /F1 12 Tf 20 50 Td (Facture \(number)) Tj ET"
        return Array("""
        %PDF-1.4
        1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj
        2 0 obj << /Type /Pages /Kids [3 0 R] /Count 1 >> endobj
        3 0 obj << /Type /Page /Parent 2 0 R /MediaBox [0 0 300 100] /Contents 4 0 R /Resources << /Font << /F1 5 0 R >> >> >> endobj
        4 0 obj << /Length \(content.utf8.count) >> stream
        \(content)
        endstream endobj
        5 0 obj << /Type /Font /Subtype /Type1 /BaseFont /Helvetica >> endobj
        trailer << /Root 1 0 R >>
        %%EOF

        """.utf8)
    }

    /// A 1×1 PNG.
    private static let onePixelPNG: [UInt8] = Array(
        Data(base64Encoded: "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==") ?? Data())
}
