import Foundation
import LocalMailServers

/// One `mailroom serve` as a child process, so that its memory and CPU in /proc are its own and nothing of the
/// bench's: the release binary, push on, a 60 s poll interval, its output in a log file of the bench folder.
struct NodeProcess: Sendable {
    let name: String
    let pid: pid_t
    let log: String

    /// Starts `binary serve` on `database` with a free web port; `environment` adds to the bench's own.
    static func start(binary: String, name: String, database: String, environment: [String: String], log: String) throws -> NodeProcess {
        let port = try LoopbackPort.free()
        let pid = try CleanSpawn.spawn(
            [binary, "serve", "--database", database, "--port", String(port), "--poll-interval", "60"],
            output: log, append: false,
            environment: environment.merging(["MAILROOM_PUSH": "on", "MAILROOM_NODE_ID": name]) { $1 },
            ownProcessGroup: true)
        return NodeProcess(name: name, pid: pid, log: log)
    }

    func sample() throws -> ProcessSample { try ProcessSample(pid: pid) }

    /// Stops it as an operator does (SIGTERM: leases handed back, sessions logged out); SIGKILL after `grace`.
    func stop(grace: Duration = .seconds(15)) async {
        kill(pid, SIGTERM)
        if await reaped(within: grace) { return }
        kill(pid, SIGKILL)
        _ = await reaped(within: .seconds(10))
    }

    /// Ends it at once, as a crash or an OOM kill would: nothing is handed back.
    func crash() async {
        kill(pid, SIGKILL)
        _ = await reaped(within: .seconds(10))
    }

    private func reaped(within timeout: Duration) async -> Bool {
        let deadline = ContinuousClock.now + timeout
        var status: Int32 = 0
        while ContinuousClock.now < deadline {
            let result = waitpid(pid, &status, WNOHANG)
            if result == pid || (result == -1 && errno == ECHILD) { return true }
            try? await Task.sleep(for: .milliseconds(20))
        }
        return false
    }
}

/// The open-file limit: one IMAP session is one socket, so 1,000 mailboxes need more than the common 1,024. The
/// bench raises its own soft limit to the hard one; the nodes and Dovecot it starts inherit it.
enum FileLimit {
    @discardableResult
    static func raise() -> UInt64 {
        var limit = rlimit()
        guard getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0 else { return 0 }
        if limit.rlim_cur < limit.rlim_max {
            limit.rlim_cur = limit.rlim_max
            _ = setrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit)
        }
        return UInt64(limit.rlim_cur)
    }
}
