import MailroomCore
import Testing

@Suite("MAILROOM_PUBLIC_URL: the root of a site")
struct PublicURLTests {
    @Test("Accepted forms come back with a lower-case scheme and no trailing slash", arguments: [
        ("https://help.example.com", "https://help.example.com"),
        ("HTTPS://Help.Example.com/", "https://Help.Example.com"),
        ("http://127.0.0.1:8080/", "http://127.0.0.1:8080"),
        ("https://[::1]:8443", "https://[::1]:8443"),
    ])
    func accepted(given: String, expected: String) throws {
        #expect(try PublicURL.normalized(given) == expected)
    }

    @Test("A path, a query, a fragment, another scheme or no host is refused, quoting the value",
          arguments: ["help.example.com", "https://example.com/mailroom", "https://help.example.com?x=1", "https://help.example.com/#top",
                      "ftp://help.example.com", "https:///x", ""])
    func refused(given: String) {
        let refusal = #expect(throws: PublicURL.Refusal.self) { try PublicURL.normalized(given) }
        #expect(refusal?.description.contains("got «\(given)»") == true)
    }

    @Test("A user and password are refused without being repeated")
    func credentialsNeverEchoed() {
        let refusal = #expect(throws: PublicURL.Refusal.self) { try PublicURL.normalized("https://admin:S3cret-pw@help.example.com") }
        #expect(refusal?.description.contains("without a user or password") == true)
        #expect(refusal?.description.contains("S3cret-pw") == false)
    }
}
