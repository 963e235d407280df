import Foundation
import MailroomCore
import MailroomTestSupport
import Storage
import Testing

/// Delete after fetching deletes only what this account filed: UIDs are numbers of one server, account and folder.
@Suite("Delete after fetching is scoped to the account it fetched from", .serialized)
struct DeleteScopeTests {
    @Test("A delete-after-fetch mailbox switched to another Dovecot user whose INBOX has the same UIDVALIDITY and overlapping UIDs deletes nothing it has not filed")
    func switchedAccountKeepsUnfiledMail() async throws {
        let dovecot = try await TestServers.shared.dovecot()
        let first = uniqueUser("scopea"), second = uniqueUser("scopeb")
        try dovecot.setUser(first, password: "pw")
        try dovecot.setUser(second, password: "pw")
        try dovecot.deliver((1...6).map { simpleMessage(id: "a\($0)-\(first)@example.com", subject: "First account \($0)") }, to: first)
        let secondMail = (1...8).map { "b\($0)-\(second)@example.com" }
        try dovecot.deliver(secondMail.enumerated().map { simpleMessage(id: $0.element, subject: "Second account \($0.offset)") }, to: second)
        // The same UIDVALIDITY on both INBOXes, so only the account tells their UIDs apart.
        let status = try dovecot.doveadm(["mailbox", "status", "-u", first, "uidvalidity", "INBOX"])
        let uidValidity = try #require(status.split(separator: "=").last?.trimmingCharacters(in: .whitespacesAndNewlines))
        _ = try dovecot.doveadm(["mailbox", "update", "-u", second, "--uid-validity", uidValidity, "INBOX"])
        #expect(try dovecot.doveadm(["mailbox", "status", "-u", second, "uidvalidity", "INBOX"]).contains(uidValidity))

        let fixture = try await StoreFixture.make(.sqlite, name: "scope")
        // Filed but not yet deleted on the first account: as after a crash between the commit and the EXPUNGE.
        let mailbox = try await fixture.addMailbox(user: first, password: "pw", dovecot: dovecot)
        let syncer = fixture.syncer(dovecot: dovecot)
        #expect(try await syncer.sync(mailbox, server: #require(mailbox.incoming)).fetched == 6)
        #expect(try dovecot.messageCount(first) == 6)

        // Now it reads the second account, deleting after fetching.
        var switched = mailbox
        switched.deleteAfterFetch = true
        var server = try #require(mailbox.incoming)
        server.username = second
        let report = try await syncer.sync(switched, server: server)
        #expect(report.uidValidityChanged, "another account behind the same folder is rescanned")
        #expect(report.fetched == 8)
        let filed = Set(try await fixture.store.dedupeKeys(mailbox: mailbox.id))
        for id in secondMail {
            #expect(filed.contains("mid:\(id)"), "\(id) was deleted from the second account without being filed")
        }
        #expect(try dovecot.messageCount(second) == 0, "what was filed from the second account is deleted there")
        #expect(try dovecot.messageCount(first) == 6, "the first account is not touched")
    }
}
