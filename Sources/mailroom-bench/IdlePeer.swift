import Foundation
import LocalMailServers

/// The raw IDLE client (`bench/peers/idle_exists.py`) as a child process: it waits in IDLE on its own mailbox and
/// writes `N NANOSECONDS` to its output file the moment it reads `* N EXISTS`. The bench reads the file for the
/// next line; the time in it was taken by the peer, so how soon the bench looks does not change the figure.
struct IdlePeer {
    let pid: pid_t
    let output: String

    static func start(script: String, port: Int, user: String, password: String, output: String) async throws -> IdlePeer {
        try? FileManager.default.removeItem(atPath: output)
        let pid = try CleanSpawn.spawn(["python3", script, "127.0.0.1", String(port), user, password], output: output, append: false)
        let peer = IdlePeer(pid: pid, output: output)
        let deadline = Monotonic.now() + 20_000_000_000
        while !peer.lines().contains("ready") {
            guard Monotonic.now() < deadline else { throw BenchFailure("the IDLE peer did not reach IDLE: \(peer.lines())") }
            try await Task.sleep(for: .milliseconds(5))
        }
        return peer
    }

    /// Waits for the peer's report of `* N EXISTS` with N ≥ `count`; returns the monotonic time it read the line.
    func exists(atLeast count: Int, timeout: Duration = .seconds(30)) async throws -> UInt64 {
        let deadline = Monotonic.now() + UInt64(timeout.components.seconds) * 1_000_000_000
        while true {
            for line in lines() {
                let words = line.split(separator: " ")
                if words.count == 2, let number = Int(words[0]), number >= count, let time = UInt64(words[1]) { return time }
            }
            guard Monotonic.now() < deadline else { throw BenchFailure("the IDLE peer saw no EXISTS \(count) within \(timeout): \(lines().suffix(3))") }
            // As often as the bench looks at Mailroom's database, so both turns load the machine alike.
            try await Task.sleep(for: .milliseconds(1))
        }
    }

    func stop() {
        kill(pid, SIGTERM)
        _ = CleanSpawn.wait(pid)
    }

    private func lines() -> [String] {
        let text = (try? String(contentsOfFile: output, encoding: .utf8)) ?? ""
        return text.split(separator: "\n").map(String.init)
    }
}
