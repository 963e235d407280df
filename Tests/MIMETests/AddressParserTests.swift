import Testing
@testable import MIME

@Suite struct AddressParserTests {
    func p(_ s: String) -> [MailAddress] { AddressParser.parse(bytes(s)) }

    @Test func displayNamesAndQuotedCommas() {
        let a = p("\"Doe, John\" <John.Doe@Example.com>, Jane Roe <jane@example.org>")
        #expect(a == [MailAddress(name: "Doe, John", email: "John.Doe@Example.com"), MailAddress(name: "Jane Roe", email: "jane@example.org")])
        #expect(a[0].normalizedEmail == "john.doe@example.com")
    }

    @Test func groupsAreFlattened() {
        let a = p("Team: a@x.example, Bob <b@y.example>;, c@z.example")
        #expect(a.map(\.email) == ["a@x.example", "b@y.example", "c@z.example"])
        #expect(p("undisclosed-recipients:;").isEmpty)
    }

    @Test func quotedLocalParts() {
        #expect(p("\"john doe\"@example.com").map(\.email) == ["\"john doe\"@example.com"])
        #expect(p("Name <\"odd,local\"@example.com>").first?.email == "\"odd,local\"@example.com")
    }

    @Test func commentsAndEncodedNames() {
        #expect(p("a@example.com (Alice Example)") == [MailAddress(name: "Alice Example", email: "a@example.com")])
        #expect(p("=?UTF-8?B?0JDQvdC90LA=?= <anna@example.ru>") == [MailAddress(name: "Анна", email: "anna@example.ru")])
        #expect(p("\"=?ISO-8859-1?Q?J=FCrgen?=\" <j@example.de>").first?.name == "Jürgen")
        #expect(p("=?UTF-8?Q?Li?= =?UTF-8?Q?_Wei?= <li@example.cn>").first?.name == "Li Wei")
        #expect(p("John (the boss) Smith <js@example.com>").first?.email == "js@example.com")
    }

    @Test func bareAndAngleOnly() {
        #expect(p("bare@example.com") == [MailAddress(name: nil, email: "bare@example.com")])
        #expect(p("<angle@example.com>") == [MailAddress(name: nil, email: "angle@example.com")])
        #expect(p(" <a@b.example> , <c@d.example> ").count == 2)
        #expect(p("<@route1,@route2:user@host.example>").first?.email == "user@host.example")
        #expect(p("Name <mailto:x@y.example>").first?.email == "x@y.example")
    }

    @Test func unquotedLastFirstName() {
        #expect(p("Doe, John <jd@example.com>") == [MailAddress(name: "Doe, John", email: "jd@example.com")])
        #expect(p("John Smith john@example.com").first == MailAddress(name: "John Smith", email: "john@example.com"))
        #expect(p("john @ example.com").first?.email == "john@example.com")
    }

    @Test func garbageNeverCrashes() {
        let inputs = ["", ",,,", "<", ">", "\"", "(", "(((", "<<<a@b>", "a@b <", ":;:;", "\"unterminated <x@y>",
                      "undisclosed <@>", "@", "<>", "Name <>", "\\", "=?utf-8?b?====?= <a@b>", ";;;a@b"]
        for s in inputs { _ = p(s) }
        #expect(p("garbage without address").isEmpty)
        #expect(p("undisclosed <@>").isEmpty)
        #expect(p("\"unterminated <x@y>").count <= 1)
        var rng = XorShift(seed: 99)
        for _ in 0..<300 {
            let n = rng.int(80)
            let junk = (0..<n).map { _ in [0x3C, 0x3E, 0x22, 0x28, 0x29, 0x40, 0x2C, 0x3A, 0x3B, 0x5C, 0x61, 0x20, 0xC3, 0xFF][rng.int(14)] as UInt8 }
            _ = AddressParser.parse(junk)
        }
    }
}
