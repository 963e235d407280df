import MailroomTestSupport
import Testing

@testable import SMTP

@Suite("SMTP reply parser")
struct ReplyParserTests {
    static let ehlo = Array("250-mail.example.com Hello [192.0.2.7]\r\n250-PIPELINING\r\n250-SIZE 10240000\r\n250-AUTH PLAIN LOGIN XOAUTH2\r\n250-AUTH=LOGIN\r\n250-ENHANCEDSTATUSCODES\r\n250-8BITMIME\r\n250 SMTPUTF8\r\n".utf8)
    static let transcript = Array("220 mx ESMTP\r\n".utf8) + ehlo + Array("334 \r\n235 2.7.0 Authentication successful\r\n535 5.7.8 Error: authentication failed: bad\r\n250\r\n".utf8)

    static func parseAll(_ chunks: [[UInt8]]) throws -> [SMTPReply] {
        var parser = SMTPReplyParser()
        var replies: [SMTPReply] = []
        for chunk in chunks { try parser.feed(chunk, into: &replies) }
        try parser.finish()
        return replies
    }

    @Test func singleAndMultilineReplies() throws {
        let replies = try Self.parseAll([Self.transcript])
        #expect(replies.map(\.code) == [220, 250, 334, 235, 535, 250])
        #expect(replies[1].lines.count == 8)
        #expect(replies[1].lines[3] == "AUTH PLAIN LOGIN XOAUTH2")
        #expect(replies[2].lines == [""])
        #expect(replies[5].lines == [""])
        #expect(replies[4].enhancedStatusCode == EnhancedStatusCode(5, 7, 8))
        #expect(replies[4].message == "Error: authentication failed: bad")
        #expect(replies[4].isPermanentNegative && !replies[4].isTransientNegative)
        #expect(replies[3].enhancedStatusCode?.description == "2.7.0")
        #expect(replies[0].enhancedStatusCode == nil)
    }

    @Test func byteByByteGivesTheSameReplies() throws {
        let whole = try Self.parseAll([Self.transcript])
        let bytewise = try Self.parseAll(Self.transcript.map { [$0] })
        #expect(bytewise == whole)
    }

    @Test(arguments: 1...40)
    func randomChunksGiveTheSameReplies(seed: Int) throws {
        var generator = SplitMix(seed: UInt64(seed))
        var chunks: [[UInt8]] = []
        var index = 0
        while index < Self.transcript.count {
            let size = Int(generator.next() % 17) + 1
            chunks.append(Array(Self.transcript[index..<min(index + size, Self.transcript.count)]))
            index += size
        }
        #expect(try Self.parseAll(chunks) == Self.parseAll([Self.transcript]))
    }

    @Test func bareLineFeedIsAccepted() throws {
        #expect(try Self.parseAll([Array("250-a\n250 b\n".utf8)]) == [SMTPReply(code: 250, lines: ["a", "b"])])
    }

    @Test(arguments: [
        "hello\r\n", "25\r\n", "2500 x\r\n", "250x\r\n", "650 nope\r\n", "190 nope\r\n", "2a0 x\r\n", "\r\n",
        "250-a\r\n251 b\r\n", "* OK IMAP here\r\n", "+OK POP3 here\r\n",
    ])
    func garbageIsAProtocolViolation(_ input: String) {
        #expect { try Self.parseAll([Array(input.utf8)]) } throws: { ($0 as? SMTPError)?.kind == .protocolViolation }
    }

    @Test func overlongLineFailsBeforeItEnds() throws {
        var parser = SMTPReplyParser()
        let long = Array("250 ".utf8) + [UInt8](repeating: 0x41, count: 9000)
        #expect { _ = try parser.feed(long) } throws: { ($0 as? SMTPError)?.kind == .lineTooLong }
        // Exactly at the limit (CRLF included) is fine.
        var exact = SMTPReplyParser(maxLineLength: 10)
        #expect(try exact.feed(Array("250 abcd\r\n".utf8)).count == 1)
        var over = SMTPReplyParser(maxLineLength: 10)
        #expect { _ = try over.feed(Array("250 abcde\r\n".utf8)) } throws: { ($0 as? SMTPError)?.kind == .lineTooLong }
    }

    @Test func tooManyLinesIsAProtocolViolation() {
        var parser = SMTPReplyParser(maxLines: 3)
        #expect { _ = try parser.feed(Array("250-a\r\n250-b\r\n250-c\r\n250 d\r\n".utf8)) } throws: {
            ($0 as? SMTPError)?.kind == .protocolViolation
        }
    }

    @Test func endOfInputInsideAReply() throws {
        var parser = SMTPReplyParser()
        _ = try parser.feed(Array("250-a\r\n250-b".utf8))
        #expect(parser.hasPartialReply)
        #expect { try parser.finish() } throws: { ($0 as? SMTPError)?.kind == .connectionClosed }
        var multiline = SMTPReplyParser()
        _ = try multiline.feed(Array("250-a\r\n".utf8))
        #expect(multiline.hasPartialReply)
    }

    @Test func enhancedStatusCodes() {
        #expect(SMTPReply(code: 454, lines: ["4.7.0 Temporary authentication failure"]).enhancedStatusCode == EnhancedStatusCode(4, 7, 0))
        #expect(SMTPReply(code: 535, lines: ["5.7.139 Authentication unsuccessful"]).enhancedStatusCode?.description == "5.7.139")
        // The class must match the reply code.
        #expect(SMTPReply(code: 535, lines: ["4.7.0 odd"]).enhancedStatusCode == nil)
        #expect(SMTPReply(code: 250, lines: ["2.1.0"]).enhancedStatusCode == EnhancedStatusCode(2, 1, 0))
        #expect(SMTPReply(code: 250, lines: ["2.1.0x"]).enhancedStatusCode == nil)
        #expect(SMTPReply(code: 250, lines: ["2.1000.0 x"]).enhancedStatusCode == nil)
        #expect(SMTPReply(code: 334, lines: ["VXNlcm5hbWU6"]).enhancedStatusCode == nil)
        #expect(EnhancedStatusCode("5.7.8") == EnhancedStatusCode(5, 7, 8))
        #expect(EnhancedStatusCode("5.7") == nil)
    }

    @Test func extensionsFromEHLO() throws {
        let reply = try #require(try Self.parseAll([Self.ehlo]).first)
        let extensions = SMTPExtensions(ehlo: reply)
        #expect(extensions.serverName == "mail.example.com")
        #expect(extensions.authMechanisms == ["PLAIN", "LOGIN", "XOAUTH2"])
        #expect(extensions.maxMessageSize == 10_240_000)
        #expect(extensions.pipelining && extensions.eightBitMIME && extensions.smtpUTF8 && extensions.enhancedStatusCodes)
        #expect(!extensions.startTLS)
        #expect(extensions.supports("size") && extensions.size)
        #expect(SMTPExtensions(ehlo: SMTPReply(code: 250, lines: ["x", "SIZE 0"])).maxMessageSize == nil)
        #expect(SMTPExtensions(ehlo: SMTPReply(code: 250, lines: ["x", "SIZE"])).size)
        #expect(SMTPExtensions(ehlo: SMTPReply(code: 250, lines: ["x", "auth=login plain"])).authMechanisms == ["LOGIN", "PLAIN"])
    }

    @Test func dotStuffingAndLineEnds() {
        func wire(_ text: String) -> String { String(decoding: SMTPMessageData.encode(Array(text.utf8)), as: UTF8.self) }
        #expect(wire("Subject: x\r\n\r\nHello\r\n") == "Subject: x\r\n\r\nHello\r\n.\r\n")
        #expect(wire("a\r\n.b\r\n..c\r\n.\r\n") == "a\r\n..b\r\n...c\r\n..\r\n.\r\n")
        #expect(wire(".start") == "..start\r\n.\r\n")
        #expect(wire("bare\nlf\n.dot\n") == "bare\r\nlf\r\n..dot\r\n.\r\n")
        #expect(wire("bare\rcr") == "bare\r\ncr\r\n.\r\n")
        #expect(wire("\r\n\r\n") == "\r\n\r\n.\r\n")
        #expect(wire("") == ".\r\n")
        #expect(wire("no. dot.\r\n") == "no. dot.\r\n.\r\n")
        #expect(SMTPMessageData.hasEightBitData(Array("Grüße".utf8)))
        #expect(!SMTPMessageData.hasEightBitData(Array("Hello".utf8)))
    }
}
