import Foundation
import MailroomTestSupport
import Testing

/// `/metrics` and `/healthz` of a real `mailroom serve` in push mode, read as an operator's scraper would: the
/// text is parsed by Prometheus' own client parser, never searched for substrings.
@Suite("Metrics and health of mailroom serve", .serialized)
struct MetricsTests {
    static let token = "scrape-\(UUID().uuidString)"

    /// Scrapes `/metrics` with `authorization` (nil: none) and returns the HTTP status and the parsed samples.
    static func scrape(_ server: MailroomProcess, authorization: String?) throws -> (status: Int, samples: [String: Any]) {
        var command = ["curl", "-s", "-o", "-", "-w", "\n%{http_code}", "\(server.base)/metrics"]
        if let authorization { command += ["-H", "Authorization: \(authorization)"] }
        let output = try ProcessRunner.run(command)
        let status = Int(output.split(separator: "\n").last ?? "") ?? 0
        guard status == 200 else { return (status, [:]) }
        let text = String(output.dropLast(String(status).count + 1))
        let python = TestPaths.repoRoot.appendingPathComponent(".build/test-tools/bin/python").path
        let parser = TestPaths.repoRoot.appendingPathComponent("scripts/prometheus-to-json.py").path
        let json = try ProcessRunner.run([python, parser], input: text)
        let samples = try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any] ?? [:]
        return (status, samples)
    }

    static func value(_ samples: [String: Any], _ key: String) -> Double {
        (samples[key] as? NSNumber)?.doubleValue ?? 0
    }

    @Test("/metrics parses as Prometheus text, needs its bearer token, and its figures move when mail arrives; /healthz names the node and its workers")
    func metricsMove() async throws {
        let dovecot = try await TestServers.shared.dovecot()
        let user = uniqueUser("metrics")
        let password = "Pa55-\(UUID().uuidString)"
        try dovecot.setUser(user, password: password)
        try dovecot.ensureMaildir(user, folder: nil)
        let workdir = try TestPaths.temporaryDirectory("metrics")
        let database = workdir.appendingPathComponent("mailroom.sqlite").path
        let server = try MailroomProcess(
            database: database, workdir: workdir, caFile: dovecot.caFile, pollInterval: 60,
            extraEnvironment: ["MAILROOM_METRICS_TOKEN": Self.token, "MAILROOM_RECONCILE_INTERVAL": "900", "MAILROOM_NODE_ID": "node-a"])
        try await server.waitUntilListening()
        try TestPeople.createAdmin(database: database, workdir: workdir)
        let session = try await TestPeople.signIn(base: server.base)
        let created = try await server.post("/api/v1/mailboxes", json: """
            {"email": "\(user)@helpdesk.example", "name": "Metrics", "provider": "other", "usage": "incoming", "imap_host": "localhost",
             "imap_port": \(dovecot.imapPort), "imap_security": "starttls", "username": "\(user)", "password": "\(password)"}
            """, as: session)
        #expect(created.status == 201, "\(created.body)")

        #expect(try Self.scrape(server, authorization: nil).status == 401)
        #expect(try Self.scrape(server, authorization: "Bearer wrong-\(Self.token)").status == 401)

        // The session opens and waits in IDLE.
        var samples: [String: Any] = [:]
        let deadline = ContinuousClock.now + .seconds(30)
        while ContinuousClock.now < deadline {
            samples = try Self.scrape(server, authorization: "Bearer \(Self.token)").samples
            if Self.value(samples, "mailroom_imap_sessions_idle{}") >= 1 { break }
            try await Task.sleep(for: .milliseconds(200))
        }
        #expect(Self.value(samples, "mailroom_imap_sessions{}") == 1, "\(samples.keys.sorted())")
        #expect(Self.value(samples, "mailroom_imap_sessions_idle{}") == 1)
        #expect(Self.value(samples, "mailroom_leases_held{node=node-a}") == 1, "the lone node holds the one mailbox's lease")
        let filedBefore = Self.value(samples, "mailroom_messages_filed_total{outcome=opened}")
        #expect(filedBefore == 0)

        try dovecot.deliver([simpleMessage(id: "m1-\(user)@customer.example", subject: "First"), simpleMessage(id: "m2-\(user)@customer.example", subject: "Second")], to: user)
        while ContinuousClock.now < deadline + .seconds(30) {
            samples = try Self.scrape(server, authorization: "Bearer \(Self.token)").samples
            if Self.value(samples, "mailroom_messages_filed_total{outcome=opened}") >= 2 { break }
            try await Task.sleep(for: .milliseconds(200))
        }
        #expect(Self.value(samples, "mailroom_messages_filed_total{outcome=opened}") == 2)
        // The announcement-to-commit latency was observed once per pass that filed mail.
        #expect(Self.value(samples, "mailroom_new_mail_seconds_count{}") >= 1)
        let types = samples["#types"] as? [String: String] ?? [:]
        #expect(types["mailroom_new_mail_seconds"] == "histogram")
        #expect(types["mailroom_messages_filed"] == "counter" || types["mailroom_messages_filed_total"] == "counter", "\(types)")
        // HTTP requests are counted too (Hummingbird's metrics middleware).
        #expect(samples.keys.contains { $0.hasPrefix("hb_requests") || $0.hasPrefix("http") }, "\(samples.keys.sorted())")

        let health = try await server.get("/healthz")
        #expect(health.status == 200)
        let report = try JSONSerialization.jsonObject(with: Data(health.body.utf8)) as? [String: Any] ?? [:]
        #expect(report["node"] as? String == "node-a")
        #expect(report["database"] as? String == "ok")
        let workers = report["workers"] as? [String: [String: Any]] ?? [:]
        for worker in ["inbound", "outbound", "notifier"] {
            #expect(workers[worker]?["state"] as? String == "ok", "\(worker): \(health.body)")
        }
        _ = server.terminate()
    }
}
