import Engine
import Testing

@Suite("MAILROOM_SMTP_URL")
struct SMTPRelayTests {
    @Test("smtp:// means STARTTLS on 587, smtps:// TLS on 465, ?security=none plain; the password is never printed")
    func parses() throws {
        let starttls = try SMTPRelay.parse("smtp://relay%40example.com:s%3Dcret@mail.example.com")
        #expect(starttls.host == "mail.example.com" && starttls.port == 587 && starttls.security == .startTLS)
        #expect(starttls.username == "relay@example.com" && starttls.password == "s=cret")
        #expect("\(starttls)" == "smtp://relay@example.com:<redacted>@mail.example.com:587")
        let tls = try SMTPRelay.parse("smtps://mail.example.com")
        #expect(tls.port == 465 && tls.security == .implicitTLS && tls.username == nil)
        let plain = try SMTPRelay.parse("smtp://10.0.0.5:25?security=none")
        #expect(plain.port == 25 && plain.security == .none)
    }

    @Test("A wrong scheme, no host or a bad port is refused with a message that does not repeat the password")
    func refusesBadURLs() {
        for url in ["http://u:topsecret@mail.example.com", "smtp://", "mail.example.com", "smtp://u:topsecret@mail.example.com:70000"] {
            #expect(throws: SMTPRelayError.self, "\(url)") { try SMTPRelay.parse(url) }
            do { _ = try SMTPRelay.parse(url) } catch { #expect(!error.description.contains("topsecret")) }
        }
    }
}
