import Testing
@testable import MIME

@Suite struct MessageIDTests {
    @Test func threadingHeaders() {
        let raw = crlf("""
        Message-ID:  <abc.123@mail.example.com>
        In-Reply-To: <parent@example.com> (added by gateway)
        References: <root@example.com>
         <mid@example.com> junk <parent@example.com>
         <root@example.com>
        Subject: Re: x

        body
        """)
        let m = MessageParser.parse(raw)
        #expect(m.messageID == "abc.123@mail.example.com")
        #expect(m.inReplyTo == ["parent@example.com"])
        #expect(m.references == ["root@example.com", "mid@example.com", "parent@example.com"])
    }

    @Test func idsWithJunk() {
        #expect(MessageIDParser.parse(bytes("<a@b> <c@d>")) == ["a@b", "c@d"])
        #expect(MessageIDParser.parse(bytes("  < spaced@id >  ")) == ["spaced@id"])
        #expect(MessageIDParser.parse(bytes("no-brackets@example.com")) == ["no-brackets@example.com"])
        #expect(MessageIDParser.parse(bytes("<a@b>(comment <x@y>)<c@d>")) == ["a@b", "c@d"])
        #expect(MessageIDParser.parse(bytes("<unterminated@x")) == ["unterminated@x"])
        #expect(MessageIDParser.parse(bytes("<>")) == [])
        #expect(MessageIDParser.parse(bytes("garbage")) == [])
        #expect(MessageIDParser.parse(bytes("Re: your mail <x@y> of today")) == ["x@y"])
    }

    @Test func missingHeaders() {
        let m = MessageParser.parse(crlf("Subject: x\n\nb"))
        #expect(m.messageID == nil)
        #expect(m.inReplyTo.isEmpty)
        #expect(m.references.isEmpty)
        #expect(m.date == nil)
    }
}
