import Foundation
import LocalMailServers

/// A private PostgreSQL cluster in the demo folder, for `--postgres`. PostgreSQL refuses to run as
/// root, so it runs as the `postgres` user Debian's package creates; it listens on loopback only and
/// trusts local connections, which is fine for a demo and nothing else.
actor DemoPostgres {
    let root: String
    private var started = false
    private var bin = ""

    init(root: String) { self.root = root }

    /// Creates the cluster and the `mailroom` database, starts it, and returns Mailroom's database URL.
    func start() async throws -> String {
        bin = try Self.binDirectory()
        let port = try LoopbackPort.choose(preferring: 15432)
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
        try ChildProcess.run(["chown", "postgres:postgres", root])
        let data = "\(root)/data"
        try ChildProcess.run(["runuser", "-u", "postgres", "--", "\(bin)/initdb", "-D", data, "-A", "trust", "-U", "mailroom", "-E", "UTF8"])
        try ChildProcess.run(["runuser", "-u", "postgres", "--", "\(bin)/pg_ctl", "-D", data, "-l", "\(root)/postgres.log", "-w", "-o",
                              "-h 127.0.0.1 -p \(port) -k \(root)", "start"])
        started = true
        try await LoopbackPort.waitUntilListening(port, name: "PostgreSQL", timeout: .seconds(30))
        try ChildProcess.run(["\(bin)/psql", "-h", "127.0.0.1", "-p", String(port), "-U", "mailroom", "-d", "postgres", "-c", "CREATE DATABASE mailroom"])
        return "postgres://mailroom@127.0.0.1:\(port)/mailroom"
    }

    func stop() async {
        guard started else { return }
        started = false
        _ = try? ChildProcess.run(["runuser", "-u", "postgres", "--", "\(bin)/pg_ctl", "-D", "\(root)/data", "-m", "fast", "-w", "stop"])
    }

    private static func binDirectory() throws -> String {
        let base = "/usr/lib/postgresql"
        let versions = (try? FileManager.default.contentsOfDirectory(atPath: base))?.compactMap(Int.init).sorted() ?? []
        guard let latest = versions.last else {
            throw DemoFailure("PostgreSQL is not installed. scripts/demo --postgres installs it, or: apt-get install -y postgresql")
        }
        return "\(base)/\(latest)/bin"
    }
}
