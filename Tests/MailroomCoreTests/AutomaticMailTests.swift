import MIME
import MailroomCore
import Testing

@Suite("AutomaticMail: auto-replies, bounces and list mail are recognised")
struct AutomaticMailTests {
    static func kind(_ text: String, envelopeSender: String? = nil) -> AutomaticMailKind? {
        AutomaticMail.kind(of: MessageParser.parse(Array(text.replacingOccurrences(of: "\n", with: "\r\n").utf8)), envelopeSender: envelopeSender)
    }

    static let exchangeOOF = """
        Received: from AM0PR01MB1234.eurprd01.prod.exchangelabs.com by AM0PR01MB1234.eurprd01.prod.exchangelabs.com
        From: Jan Novak <jan.novak@contoso.com>
        To: Support <support@example.com>
        Subject: Automatic reply: [#42] Printer broken
        Thread-Topic: [#42] Printer broken
        Date: Mon, 3 Jun 2024 09:12:44 +0000
        Message-ID: <8a2f0c1b2d3e4f5a6b7c8d9e0f1a2b3c@AM0PR01MB1234.eurprd01.prod.exchangelabs.com>
        In-Reply-To: <reply-42-1@example.com>
        Auto-Submitted: auto-generated
        X-MS-Has-Attach:
        X-Auto-Response-Suppress: All
        X-MS-Exchange-Inbox-Rules-Loop: jan.novak@contoso.com
        Content-Type: text/plain; charset="us-ascii"
        MIME-Version: 1.0

        I am out of the office until 10 June with limited access to email.

        """

    static let gmailVacation = """
        Return-Path: <anna.customer@gmail.com>
        MIME-Version: 1.0
        From: Anna Customer <anna.customer@gmail.com>
        Date: Tue, 4 Jun 2024 10:00:01 +0200
        Message-ID: <CAF=vacation0001@mail.gmail.com>
        Subject: Re: [#43] Your order
        To: support@example.com
        Auto-Submitted: auto-replied
        Precedence: bulk
        X-Autoreply: yes
        In-Reply-To: <reply-43-1@example.com>
        Content-Type: text/plain; charset="UTF-8"

        Thanks for your email. I'm on vacation and will reply when I'm back.

        """

    static let postfixBounce = """
        Return-Path: <>
        Date: Wed,  5 Jun 2024 11:22:33 +0000 (UTC)
        From: MAILER-DAEMON@mx.example.com (Mail Delivery System)
        Subject: Undelivered Mail Returned to Sender
        To: support@example.com
        Auto-Submitted: auto-replied
        MIME-Version: 1.0
        Content-Type: multipart/report; report-type=delivery-status;
        \tboundary="4C9A21E0F3.1717586553/mx.example.com"
        Message-Id: <20240605112233.1A2B3C4D5E@mx.example.com>

        This is a MIME-encapsulated message.

        --4C9A21E0F3.1717586553/mx.example.com
        Content-Description: Notification
        Content-Type: text/plain; charset=us-ascii

        This is the mail system at host mx.example.com.

        I'm sorry to have to inform you that your message could not
        be delivered to one or more recipients.

        <gone@customer.example>: host mail.customer.example said: 550 5.1.1 User unknown

        --4C9A21E0F3.1717586553/mx.example.com
        Content-Description: Delivery report
        Content-Type: message/delivery-status

        Reporting-MTA: dns; mx.example.com
        Arrival-Date: Wed,  5 Jun 2024 11:22:30 +0000 (UTC)

        Final-Recipient: rfc822; gone@customer.example
        Action: failed
        Status: 5.1.1

        --4C9A21E0F3.1717586553/mx.example.com--

        """

    static let readReceipt = """
        From: Bob Buyer <bob@customer.example>
        To: support@example.com
        Subject: Read: [#44] Refund
        Date: Thu, 6 Jun 2024 08:00:00 +0000
        Message-ID: <mdn-1@customer.example>
        MIME-Version: 1.0
        Content-Type: multipart/report; report-type="disposition-notification"; boundary="mdn"

        --mdn
        Content-Type: text/plain

        Your message was read on Thu, 6 Jun 2024 08:00:00 +0000.
        --mdn
        Content-Type: message/disposition-notification

        Reporting-UA: customer.example; Thunderbird
        Final-Recipient: rfc822;bob@customer.example
        Original-Message-ID: <reply-44-1@example.com>
        Disposition: manual-action/MDN-sent-manually; displayed
        --mdn--

        """

    static let mailingList = """
        From: Carol <carol@lists.example.org>
        To: users@lists.example.org
        Cc: support@example.com
        Subject: [users] Anyone else seeing this?
        Date: Fri, 7 Jun 2024 12:00:00 +0000
        Message-ID: <list-1@lists.example.org>
        List-Id: Users of Example <users.lists.example.org>
        List-Unsubscribe: <mailto:users-leave@lists.example.org>
        List-Post: <mailto:users@lists.example.org>
        Content-Type: text/plain

        Hello list.

        """

    static let customer = """
        Return-Path: <dana@customer.example>
        From: Dana Customer <dana@customer.example>
        To: Support <support@example.com>
        Subject: My invoice is wrong
        Date: Sat, 8 Jun 2024 14:30:00 +0200
        Message-ID: <normal-1@customer.example>
        MIME-Version: 1.0
        Auto-Submitted: no
        Content-Type: text/plain; charset=utf-8

        Hello, the amount on invoice 2024-17 is wrong. Can you check?

        Dana

        """

    @Test func exchangeOutOfOffice() {
        #expect(Self.kind(Self.exchangeOOF) == .autoReply)
    }

    @Test func gmailVacationResponder() {
        // Auto-Submitted wins over the Precedence: bulk Gmail also sends.
        #expect(Self.kind(Self.gmailVacation) == .autoReply)
    }

    @Test func postfixBounce() {
        #expect(Self.kind(Self.postfixBounce) == .bounce)
    }

    @Test func readReceipt() {
        #expect(Self.kind(Self.readReceipt) == .readReceipt)
    }

    @Test func mailingList() {
        #expect(Self.kind(Self.mailingList) == .list)
    }

    @Test func normalCustomerMailIsNotAutomatic() {
        #expect(Self.kind(Self.customer) == nil)
        #expect(!AutomaticMail.isAutomatic(MessageParser.parse(Array(Self.customer.utf8)), envelopeSender: "dana@customer.example"))
    }

    @Test("Auto-Submitted other than no", arguments: [
        ("auto-replied", AutomaticMailKind?.some(.autoReply)), ("auto-generated", .autoReply),
        ("Auto-Notified; owner-email=\"x@y\"", .autoReply), ("auto-replied (vacation)", .autoReply),
        ("no", nil), ("No (a person)", nil),
    ])
    func autoSubmitted(value: String, expected: AutomaticMailKind?) {
        #expect(Self.kind("From: a@b.example\nAuto-Submitted: \(value)\nSubject: s\n\nx\n") == expected)
    }

    @Test("Precedence", arguments: [
        ("bulk", AutomaticMailKind?.some(.bulk)), ("junk", .bulk), ("list", .list), ("auto_reply", .autoReply),
        ("Bulk", .bulk), ("first-class", nil),
    ])
    func precedence(value: String, expected: AutomaticMailKind?) {
        #expect(Self.kind("From: a@b.example\nPrecedence: \(value)\nSubject: s\n\nx\n") == expected)
    }

    @Test("Vendor auto-reply headers", arguments: [
        ("X-Autoreply: yes", AutomaticMailKind?.some(.autoReply)), ("X-Autorespond: Out of office", .autoReply),
        ("X-Auto-Response-Suppress: OOF, DR", .autoReply), ("X-Auto-Response-Suppress: AutoReply", .autoReply),
        ("X-Auto-Response-Suppress: DR, RN, NRN", nil), ("X-Autogenerated: Reply", .autoReply),
        ("List-Unsubscribe: <https://news.example/u?id=1>", .list),
    ])
    func vendorHeaders(header: String, expected: AutomaticMailKind?) {
        #expect(Self.kind("From: a@b.example\n\(header)\nSubject: s\n\nx\n") == expected)
    }

    @Test("Null and daemon senders are bounces", arguments: [
        "From: MAILER-DAEMON (Mail Delivery Subsystem)\n", "From: Mail Delivery System <Mailer-Daemon@mx.example>\n",
        "From: postmaster@outlook.com\n", "Return-Path: <>\nFrom: someone@x.example\n",
        "Return-Path: <MAILER-DAEMON>\nFrom: someone@x.example\n",
    ])
    func daemonSenders(headers: String) {
        #expect(Self.kind("\(headers)Subject: Delivery failure\n\nx\n") == .bounce)
    }

    @Test func envelopeNullSender() {
        let text = "From: someone@x.example\nSubject: hi\n\nx\n"
        #expect(Self.kind(text, envelopeSender: "") == .bounce)
        #expect(Self.kind(text, envelopeSender: "someone@x.example") == nil)
    }

    @Test func exchangeNonDeliveryReport() {
        let text = """
            From: Microsoft Outlook <postmaster@contoso.onmicrosoft.com>
            To: support@example.com
            Subject: Undeliverable: [#45] Shipping
            Content-Type: multipart/report; report-type=delivery-status; boundary="b1"
            X-MS-Exchange-Message-Is-Ndr:
            Auto-Submitted: auto-replied

            --b1
            Content-Type: text/plain

            Delivery has failed to these recipients.
            --b1--

            """
        #expect(Self.kind(text) == .bounce)
    }

    @Test("A report's type is read in any case and spacing; other multipart mail is not a report")
    func reportTypeSpelling() {
        let body = "From: someone@x.example\nSubject: hi\n"
        #expect(Self.kind(body + "Content-Type:  Multipart/REPORT ;report-type=Delivery-Status; boundary=b\n\nx\n") == .bounce)
        #expect(Self.kind(body + "Content-Type: multipart/report; boundary=b; Report-Type=\"disposition-notification\"\n\nx\n") == .readReceipt)
        #expect(Self.kind(body + "Content-Type: multipart/reports; report-type=delivery-status\n\nx\n") == nil)
        #expect(Self.kind(body + "Content-Type: multipart/mixed; report-type=delivery-status\n\nx\n") == nil)
    }

    @Test func malformedHeadersDoNotTrap() {
        for text in ["Content-Type: multipart/report\n\n", "Content-Type: multipart/report; report-type\n\n", "Auto-Submitted:\n\n",
                     "Return-Path:\nFrom: a@b\n\n", "X-Auto-Response-Suppress:\n\n", "\n\n"] {
            _ = Self.kind(text)
        }
        #expect(Self.kind("Auto-Submitted:\nFrom: a@b.example\n\nx") == nil)
    }
}
