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

    @Test("Duplicates go and order stays, in short and long lists alike (the long ones are deduplicated by a set)")
    func duplicatesInShortAndLongLists() {
        for count in [1, 2, 15, 16, 17, 40] {
            let ids = (0..<count).map { "id\($0)@example.com" }
            // Each id again after it, some folded with blanks inside the brackets, and the first again at the end.
            let text = ids.enumerated().map { k, id in k % 3 == 0 ? "<\(id)> < \(id)\r\n >" : "<\(id)> <\(id)>" }.joined(separator: " ") + " <\(ids[0])>"
            #expect(MessageIDParser.parse(bytes(text)) == ids, "\(count) ids")
        }
        let m = MessageParser.parse(crlf("In-Reply-To: <a@x> <b@x>\nIn-Reply-To: <b@x> <c@x>\nSubject: x\n\nb"))
        #expect(m.inReplyTo == ["a@x", "b@x", "c@x"], "two fields: duplicates across them go too")
        // Two fields of 12 ids each, the second repeating six of the first: the list passes 16 (where the set takes
        // over) inside the second field, and what it has seen in the first still counts.
        let first = (0..<12).map { "<r\($0)@x>" }.joined(separator: " ")
        let second = ((6..<12).map { "<r\($0)@x>" } + (12..<18).map { "<r\($0)@x>" } + ["<r0@x>", "<r13@x>"]).joined(separator: " ")
        let long = MessageParser.parse(crlf("References: \(first)\nReferences: \(second)\nSubject: x\n\nb"))
        #expect(long.references == (0..<18).map { "r\($0)@x" })
    }

    @Test func missingHeaders() {
        let m = MessageParser.parse(crlf("Subject: x\n\nb"))
        #expect(m.messageID == nil)
        #expect(m.inReplyTo.isEmpty)
        #expect(m.references.isEmpty)
        #expect(m.date == nil)
    }
}
