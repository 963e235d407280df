/// A unique mailbox user name per test.
public func uniqueUser(_ prefix: String) -> String { "\(prefix)\(UInt32.random(in: 0...UInt32.max))" }

/// A small well-formed message.
public func simpleMessage(
    id: String, subject: String, from: String = "Customer <customer@example.com>", inReplyTo: String? = nil, body: String = "Hello"
) -> [UInt8] {
    var lines = [
        "From: \(from)", "To: support@helpdesk.example", "Subject: \(subject)", "Date: Sun, 29 Nov 2026 10:00:00 +0000",
        "Message-ID: <\(id)>", "MIME-Version: 1.0", "Content-Type: text/plain; charset=utf-8",
    ]
    if let inReplyTo { lines.append("In-Reply-To: <\(inReplyTo)>") }
    return Array((lines.joined(separator: "\n") + "\n\n" + body + "\n").utf8)
}
