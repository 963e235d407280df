import Testing

@testable import SASL

@Suite("SASL")
struct SASLTests {
    @Test func plainInitialResponse() throws {
        var plain = SASLPlain(authenticationIdentity: "bench1", password: "s3cret")
        #expect(plain.name == "PLAIN")
        #expect(plain.initialResponse() == Array("\0bench1\0s3cret".utf8))
        var withAuthz = SASLPlain(authorizationIdentity: "shared@x.org", authenticationIdentity: "me", password: "pw")
        #expect(withAuthz.initialResponse() == Array("shared@x.org\0me\0pw".utf8))
        #expect(throws: SASLError.self) { try plain.respond(to: Array("more?".utf8)) }
    }

    @Test func plainAnswersEmptyChallengeWhenNoInitialResponseWasSent() throws {
        var plain = SASLPlain(authenticationIdentity: "u", password: "p")
        #expect(try plain.respond(to: []) == Array("\0u\0p".utf8))
    }

    @Test func loginMechanism() throws {
        var login = SASLLogin(username: "bench1", password: "s3cret")
        #expect(login.initialResponse() == nil)
        #expect(try login.respond(to: Array("Username:".utf8)) == Array("bench1".utf8))
        #expect(try login.respond(to: Array("Password:".utf8)) == Array("s3cret".utf8))
        #expect(throws: SASLError.self) { try login.respond(to: Array("Again?".utf8)) }
    }

    @Test func secretsNeverPrinted() {
        let plain = SASLPlain(authenticationIdentity: "bench1", password: "TopSecret42")
        let login = SASLLogin(username: "bench1", password: "TopSecret42")
        for text in [plain.description, plain.debugDescription, String(reflecting: plain), "\(plain)",
                     login.description, login.debugDescription, String(reflecting: login)] {
            #expect(!text.contains("TopSecret42"))
        }
        var dumped = ""
        dump(plain, to: &dumped)
        dump(login, to: &dumped)
        #expect(!dumped.contains("TopSecret42"))
    }
}
