import Foundation
import LocalMailServers
import MailroomTestSupport
import Testing

@Suite("«Outgoing only»: mail forwarded to mailroom serve's SMTP receiver", .serialized)
struct IntakeServeTests {
    /// A database with one «Outgoing only» support address, ready for `mailroom serve`.
    static func outgoingMailbox(_ prefix: String) async throws -> (database: String, workdir: URL, support: String, caFile: String) {
        let dovecot = try await TestServers.shared.dovecot()
        let postfix = try await TestServers.shared.postfix()
        let user = uniqueUser(prefix)
        try dovecot.setUser(user, password: "pw-\(user)")
        let support = "\(user)@helpdesk.example"
        let workdir = try TestPaths.temporaryDirectory("intake")
        let database = workdir.appendingPathComponent("mailroom.sqlite").path
        _ = try CLI.run(["mailbox", "add", "--database", database, "--email", support, "--name", "Support", "--provider", "other",
                         "--usage", "outgoing", "--smtp-host", "localhost", "--smtp-port", String(postfix.submissionPort),
                         "--smtp-security", "starttls", "--username", user, "--password-stdin"], input: "pw-\(user)\n", workdir: workdir)
        return (database, workdir, support, dovecot.caFile)
    }

    @Test("swaks delivers to the support address and a ticket appears; mail for any other address is refused with 550")
    func swaksBecomesATicket() async throws {
        let (database, workdir, support, caFile) = try await Self.outgoingMailbox("fwd")
        let receiverPort = try ProcessRunner.freePort()
        let server = try MailroomProcess(database: database, workdir: workdir, caFile: caFile,
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

    @Test("With an allow list, a certificate and AUTH: only the forwarding server's network, over STARTTLS and signed in, gets mail filed")
    func hardenedReceiverThroughServe() async throws {
        let (database, workdir, support, caFile) = try await Self.outgoingMailbox("fwdtls")
        let certificates = try LoopbackCertificates.make(in: try TestPaths.temporaryDirectory("intake-tls").path, caName: "Intake Test CA")
        let password = "Forwarding-pw-\(UInt32.random(in: 0...UInt32.max))"
        let receiverPort = try ProcessRunner.freePort()
        let server = try MailroomProcess(database: database, workdir: workdir, caFile: caFile, extraEnvironment: [
            "MAILROOM_SMTP_RECEIVER_PORT": String(receiverPort), "MAILROOM_SMTP_RECEIVER_HOSTNAME": "localhost",
            "MAILROOM_SMTP_RECEIVER_ALLOW": "127.0.0.2/32, ::1",
            "MAILROOM_SMTP_RECEIVER_CERT": certificates.certificateFile, "MAILROOM_SMTP_RECEIVER_KEY": certificates.keyFile,
            "MAILROOM_SMTP_RECEIVER_USER": "forwarder", "MAILROOM_SMTP_RECEIVER_PASSWORD": password,
        ])
        try await server.waitUntilListening()
        try await ProcessRunner.waitForPort(receiverPort)
        let swaks = ["swaks", "--server", "127.0.0.1", "--port", String(receiverPort), "--from", "customer@customer.example", "--to", support,
                     "--timeout", "20"]

        let otherNetwork = try ProcessRunner.run(swaks, allowFailure: true)  // from 127.0.0.1
        #expect(otherNetwork.contains("554 5.7.1 localhost Your network is not allowed to send mail here"), "\(otherNetwork)")

        let inTheClear = try ProcessRunner.run(swaks + ["--local-interface", "127.0.0.2"], allowFailure: true)
        #expect(inTheClear.contains("530 5.7.0 Must issue a STARTTLS command first"), "\(inTheClear)")

        let filed = try ProcessRunner.run(swaks + [
            "--local-interface", "127.0.0.2", "--tls", "--tls-verify", "--tls-ca-path", certificates.caFile,
            "--auth", "LOGIN", "--auth-user", "forwarder", "--auth-password", password, "--header", "Subject: Forwarded securely",
        ], allowFailure: true)
        #expect(filed.contains("235 2.7.0") && filed.contains("250 2.0.0 Stored"), "\(filed)")
        // Filed before the 250, so the ticket is there at once.
        #expect(try ticketMessageCount(database: database, workdir: workdir) == 1)
        #expect(try CLI.run(["tickets", "list", "--database", database], workdir: workdir).contains("Forwarded securely"))
        #expect(server.terminate() == 0)
        let log = (try? String(contentsOf: server.logFile, encoding: .utf8)) ?? ""
        #expect(log.contains("SMTP receiver listening") && !log.contains(password))
    }

    @Test("Malformed receiver settings stop serve with a message that names the setting", arguments: [
        (["MAILROOM_SMTP_RECEIVER_ALLOW": "10.0.0.0/8, 192.168.1.300"], "MAILROOM_SMTP_RECEIVER_ALLOW: «192.168.1.300» is not an IPv4 or IPv6 network"),
        (["MAILROOM_SMTP_RECEIVER_USER": "forwarder", "MAILROOM_SMTP_RECEIVER_PASSWORD": "Never-in-logs-1"],
         "MAILROOM_SMTP_RECEIVER_USER and _PASSWORD need STARTTLS"),
        (["MAILROOM_SMTP_RECEIVER_CERT": "/nonexistent/receiver.pem", "MAILROOM_SMTP_RECEIVER_KEY": "/nonexistent/receiver.key"],
         "certificate file «/nonexistent/receiver.pem» cannot be read"),
        (["MAILROOM_SMTP_RECEIVER_DATA_TIMEOUT": "soon"], "MAILROOM_SMTP_RECEIVER_DATA_TIMEOUT must be a number of seconds"),
        (["MAILROOM_SMTP_RECEIVER_PORT": "25a"], "MAILROOM_SMTP_RECEIVER_PORT must be a port between 1 and 65535, not «25a»"),
    ])
    func malformedSettingsStopServe(environment: [String: String], message: String) async throws {
        let workdir = try TestPaths.temporaryDirectory("intake-bad")
        let certificates = try LoopbackCertificates.make(in: workdir.path, caName: "Unused CA")
        let server = try MailroomProcess(
            database: workdir.appendingPathComponent("mailroom.sqlite").path, workdir: workdir, caFile: certificates.caFile,
            extraEnvironment: environment.merging(["MAILROOM_SMTP_RECEIVER_PORT": String(try ProcessRunner.freePort())]) { given, _ in given })
        var status: Int32?
        for _ in 0..<600 where status == nil {
            var raw: Int32 = 0
            if waitpid(server.pid, &raw, WNOHANG) == server.pid { status = (raw >> 8) & 0xFF }
            if status == nil { try await Task.sleep(for: .milliseconds(50)) }
        }
        if status == nil { server.sigkill() }
        #expect(status != nil && status != 0, "serve kept running")
        let log = (try? String(contentsOf: server.logFile, encoding: .utf8)) ?? ""
        #expect(log.contains(message), "\(log)")
        #expect(!log.contains("Never-in-logs-1"))
    }
}
