import Foundation
import SASL
import Testing

@Suite("SASL XOAUTH2 and OAUTHBEARER")
struct SASLOAuthTests {
    @Test("XOAUTH2 sends the exact initial response Google and Microsoft document")
    func xoauth2Initial() {
        var mechanism = SASLXOAuth2(user: "shared@contoso.com", accessToken: "ya29.token")
        #expect(mechanism.initialResponse() == Array("user=shared@contoso.com\u{01}auth=Bearer ya29.token\u{01}\u{01}".utf8))
    }

    @Test("XOAUTH2 answers the error challenge with an empty response and keeps the decoded detail")
    func xoauth2Failure() throws {
        var mechanism = SASLXOAuth2(user: "a@example.com", accessToken: "t")
        _ = mechanism.initialResponse()
        let challenge = Array(#"{"status":"401","schemes":"bearer","scope":"https://mail.google.com/"}"#.utf8)
        #expect(try mechanism.respond(to: challenge) == [])
        #expect(mechanism.serverError == SASLOAuthError(status: "401", scope: "https://mail.google.com/", schemes: "bearer"))
    }

    @Test("OAUTHBEARER builds the RFC 7628 message, escaping the authzid, and answers failure with %x01")
    func oauthBearer() throws {
        var mechanism = SASLOAuthBearer(user: "we,ird=user@example.com", accessToken: "tok", host: "imap.example.com", port: 993)
        #expect(mechanism.initialResponse() == Array("n,a=we=2Cird=3Duser@example.com,\u{01}host=imap.example.com\u{01}port=993\u{01}auth=Bearer tok\u{01}\u{01}".utf8))
        let challenge = Array(#"{"status":"invalid_token","openid-configuration":"https://idp.example/.well-known/openid-configuration"}"#.utf8)
        #expect(try mechanism.respond(to: challenge) == [0x01])
        #expect(mechanism.serverError?.status == "invalid_token")
        #expect(mechanism.serverError?.openidConfiguration == "https://idp.example/.well-known/openid-configuration")
    }

    @Test("A server without SASL-IR gets the initial response on its empty challenge; garbage challenges are still answered")
    func noInitialResponseAndGarbage() throws {
        var mechanism = SASLXOAuth2(user: "a@example.com", accessToken: "t")
        #expect(try mechanism.respond(to: []) == Array("user=a@example.com\u{01}auth=Bearer t\u{01}\u{01}".utf8))
        #expect(try mechanism.respond(to: Array("not json at all".utf8)) == [])
        #expect(mechanism.serverError == SASLOAuthError(status: nil))
    }

    @Test("Tokens never show in descriptions or dumps")
    func redaction() {
        let secret = "eyJhbGciOiJSUzI1NiJ9.secret-token"
        var dumped = ""
        dump(SASLOAuthBearer(user: "u@example.com", accessToken: secret), to: &dumped)
        dump(SASLXOAuth2(user: "u@example.com", accessToken: secret), to: &dumped)
        let texts = [dumped, "\(SASLXOAuth2(user: "u", accessToken: secret))", String(reflecting: SASLOAuthBearer(user: "u", accessToken: secret))]
        for text in texts { #expect(!text.contains("secret-token")) }
    }
}
