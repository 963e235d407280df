import Foundation
import MailroomTestSupport

/// `mailroom serve` as a real child process, for tests that kill it, restart it and talk to it over HTTP.
final class MailroomProcess: @unchecked Sendable {
    let pid: pid_t
    let port: Int
    let logFile: URL

    init(database: String, workdir: URL, caFile: String, pollInterval: Double = 1, extraEnvironment: [String: String] = [:]) throws {
        port = try ProcessRunner.freePort()
        logFile = workdir.appendingPathComponent("serve-\(port).log")
        pid = try ProcessRunner.spawn(
            [try TestPaths.mailroomBinary, "serve", "--database", database, "--port", String(port), "--poll-interval", String(pollInterval), "--ca-file", caFile],
            // Sessions are signed in afresh every poll interval here, so a password changed on the server shows as soon
            // as it did when Mailroom polled (push itself is tested in PushTests).
            workdir: workdir.path, logPath: logFile.path,
            environment: ["MAILROOM_RECONCILE_INTERVAL": String(pollInterval)].merging(extraEnvironment) { $1 })
        let pid = pid
        TestCleanup.register { kill(pid, SIGKILL) }
    }

    func waitUntilListening() async throws {
        try await ProcessRunner.waitForPort(port, timeout: .seconds(60))
    }

    func sigkill() {
        kill(pid, SIGKILL)
        _ = ProcessRunner.wait(pid)
    }

    /// SIGTERM and wait: the graceful path. Returns the exit code.
    func terminate() -> Int32 {
        kill(pid, SIGTERM)
        return ProcessRunner.wait(pid)
    }

    var log: String { (try? String(contentsOf: logFile, encoding: .utf8)) ?? "" }

    var base: String { "http://127.0.0.1:\(port)" }

    func get(_ path: String, as session: BrowserSession? = nil) async throws -> (status: Int, body: String) {
        try await HTTP.request("GET", url: "\(base)\(path)", session: session)
    }

    func post(_ path: String, json: String, as session: BrowserSession? = nil) async throws -> (status: Int, body: String) {
        try await HTTP.request("POST", url: "\(base)\(path)", body: json, session: session)
    }
}

/// A tiny HTTP client over URLSession-free curl, to keep FoundationNetworking out of the test target.
enum HTTP {
    static func request(_ method: String, url: String, body: String? = nil, session: BrowserSession? = nil) async throws -> (status: Int, body: String) {
        var arguments = ["curl", "-sS", "-X", method, "-w", "\n%{http_code}", "--max-time", "20"]
        if let session { arguments += ["-H", "Cookie: \(session.cookieHeader)", "-H", "X-CSRF-Token: \(session.csrf)"] }
        if let body {
            arguments += ["-H", "Content-Type: application/json", "--data-binary", "@-"]
            _ = body
        }
        arguments.append(url)
        let output = try ProcessRunner.run(arguments, input: body)
        guard let newline = output.lastIndex(of: "\n"), let status = Int(output[output.index(after: newline)...]) else {
            return (0, output)
        }
        return (status, String(output[..<newline]))
    }
}
