import Foundation
import Testing

@Suite("«Outgoing only»: mail forwarded to mailroom serve's SMTP receiver", .serialized)
struct IntakeServeTests {
    @Test("swaks delivers to the support address and a ticket appears; mail for any other address is refused with 550")
    func swaksBecomesATicket() async throws {
        let dovecot = try await TestServers.shared.dovecot()
        let postfix = try await TestServers.shared.postfix()
        let user = uniqueUser("fwd")
        try dovecot.setUser(user, password: "pw-\(user)")
        let support = "\(user)@helpdesk.example"
        let workdir = try TestPaths.temporaryDirectory("intake")
        let database = workdir.appendingPathComponent("mailroom.sqlite").path
        _ = try CLI.run(["mailbox", "add", "--database", database, "--email", support, "--name", "Support", "--provider", "other",
                         "--usage", "outgoing", "--smtp-host", "localhost", "--smtp-port", String(postfix.submissionPort),
                         "--smtp-security", "starttls", "--username", user, "--password-stdin"], input: "pw-\(user)\n", workdir: workdir)
        let receiverPort = try ProcessRunner.freePort()
        let server = try MailroomProcess(database: database, workdir: workdir, caFile: dovecot.caFile,
                                         extraEnvironment: ["MAILROOM_SMTP_RECEIVER_PORT": String(receiverPort)])
        try await server.waitUntilListening()
        try await ProcessRunner.waitForPort(receiverPort)

        let accepted = try ProcessRunner.run([
            "swaks", "--server", "127.0.0.1", "--port", String(receiverPort), "--from", "customer@customer.example", "--to", support,
            "--header", "Subject: Forwarded to Mailroom", "--body", "Please call me back.",
        ], allowFailure: true)
        #expect(accepted.contains("250 2.0.0"))
        try await waitForTicketMessages(atLeast: 1, database: database, workdir: workdir, timeout: .seconds(20))
        let list = try CLI.run(["tickets", "list", "--database", database], workdir: workdir)
        #expect(list.contains("Forwarded to Mailroom"))

        let refused = try ProcessRunner.run([
            "swaks", "--server", "127.0.0.1", "--port", String(receiverPort), "--from", "customer@customer.example",
            "--to", "someone-else@helpdesk.example", "--body", "Relay me",
        ], allowFailure: true)
        #expect(refused.contains("550 5.1.1"))
        #expect(try ticketMessageCount(database: database, workdir: workdir) == 1)
        #expect(server.terminate() == 0)
    }
}
