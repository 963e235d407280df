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

    @Test("The one-pass reader of plain address lists returns exactly what the general parser returns, for 100,000 seeded lists of plain forms (ASCII, UTF-8 and encoded names) and near misses")
    func simpleAgreesWithGeneral() {
        var random = SeededGenerator(seed: 2822)
        // Each piece: plain spellings (four times in five), then near misses.
        let names = (["Jane Roe", "J. Smith", "O'Brien", "Anna", "  Multi   Space  ", "Tab\tName", "a.b-c_d", "x!#$%&*+/^`{|}~",
                      "=?UTF-8?B?0JDQvdC90LA=?=", "=?UTF-8?Q?J=C3=B6rg?=  =?UTF-8?Q?_Sch=C3=A4fer?=", "Jürgen Müller", "=?ISO-8859-1?Q?J=FCrgen?= Smith",
                      "=?UTF-8?B?J0JvYic=?=", "a=b?c", "=?bogus?X?y?="],
                     ["'Quoted'", "Last, First", "Name (c)", "a@b Name", "Group:", "", "Name'", "back\\slash", "Semi;colon"])
        let quoted = (["\"Doe, John\"", "\"Jane\"", "\" Spaced \"", "\"\"", "\"Tab\tIn\"", "\"a@b <c>\"", "\"=?UTF-8?Q?x?=\"",
                       "\" =?ISO-8859-1?Q?J=FCrgen?= \"", "\"Zoë, Ünal\"", "\"'Bob'\""],
                      ["\"esc\\\"aped\"", "\"unterminated", "\"line\r\nbreak\""])
        let addresses = (["a@b.c", "john.doe+tag@example.com", "x_y@z", "O'Hara@example.ie", "UPPER@EXAMPLE.COM"],
                         ["a@b.", "@b", "a@", "a@@b", "a b@c", "\"q\"@x", "mailto:a@b", "a@[1.2.3.4]", "Ünï@x", "a@b:", "a(c)@b", ""])
        let separators = ([", ", ",", " , ", ",\t"], [",,", "; ", ", ,", " ", ",\r\n "])
        let tails = (["", "", " ", "\t"], [",", " junk", " (comment)", ";", ">"])
        func pick(_ choices: ([String], [String])) -> String {
            Int.random(in: 0..<5, using: &random) < 4 ? choices.0.randomElement(using: &random)! : choices.1.randomElement(using: &random)!
        }
        var simpleCount = 0
        for _ in 0..<100_000 {
            var text = ""
            for k in 0..<Int.random(in: 1...3, using: &random) {
                if k > 0 { text += pick(separators) }
                switch Int.random(in: 0..<4, using: &random) {
                case 0: text += pick(addresses)
                case 1: text += pick(names) + " <" + pick(addresses) + ">"
                case 2: text += pick(quoted) + " <" + pick(addresses) + ">"
                default: text += "<" + pick(addresses) + ">"
                }
            }
            text += pick(tails)
            let bytes = Array(text.utf8)
            let fallback = Bool.random(using: &random) ? nil : "iso-8859-1"
            let general = AddressParser.general(bytes[...], fallbackCharset: fallback)
            if let simple = AddressParser.simpleList(bytes[...], fallbackCharset: fallback) {
                simpleCount += 1
                #expect(simple == general, "\(text)")
            }
            #expect(AddressParser.parse(bytes[...], fallbackCharset: fallback) == general, "\(text)")
        }
        // 8-bit names that are not UTF-8, read with the part's charset or as Windows-1252.
        for value in [[0x4A, 0xFC, 0x72, 0x67, 0x65, 0x6E, 0x20, 0x3C, 0x6A, 0x40, 0x78, 0x3E], [0x22, 0xE9, 0x22, 0x20, 0x3C, 0x6A, 0x40, 0x78, 0x3E]] as [[UInt8]] {
            for fallback in [nil, "iso-8859-1", "koi8-r"] {
                let simple = AddressParser.simpleList(value[...], fallbackCharset: fallback)
                #expect(simple != nil && simple == AddressParser.general(value[...], fallbackCharset: fallback))
            }
        }
        #expect(simpleCount > 20_000, "the one-pass reader takes the plain forms (\(simpleCount) of 100,000)")
    }
}
