/// The small customer email the latency and fleet benchmarks put into mailboxes: a new conversation each time, so
/// every one becomes a ticket of its own.
enum TestMessage {
    static func bytes(to mailbox: String, number: Int, tag: String) -> [UInt8] {
        Array("""
            From: Customer \(number) <customer\(number)@example.com>\r
            To: \(mailbox)\r
            Subject: Order \(tag)-\(number) has not arrived\r
            Message-ID: <\(tag).\(number)@customers.example.com>\r
            Date: Fri, 01 Mar 2024 08:00:00 +0000\r
            MIME-Version: 1.0\r
            Content-Type: text/plain; charset=utf-8\r
            \r
            Hello, I ordered last week and nothing came yet. Can you look into order \(number)?\r
            \r
            Thanks\r

            """.utf8)
    }
}
