import Foundation

/// A private PostgreSQL cluster (initdb in a temporary directory) on a free loopback port.
/// PostgreSQL refuses to run as root, so it runs as the `postgres` system user the Debian package creates.
final class Postgres: Sendable {
    let root: URL
    let port: Int
    let bin: String

    init() async throws {
        root = try TestPaths.temporaryDirectory("postgres")
        port = try ProcessRunner.freePort()
        bin = try Self.findBinDir()
        let data = root.appendingPathComponent("data").path
        try ProcessRunner.run(["chown", "-R", "postgres:postgres", root.path])
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: root.path)
        try ProcessRunner.run(["runuser", "-u", "postgres", "--", "\(bin)/initdb", "-D", data, "-A", "trust", "-U", "mailroom", "--no-sync", "-E", "UTF8"])
        try ProcessRunner.run(["runuser", "-u", "postgres", "--", "\(bin)/pg_ctl", "-D", data, "-l", "\(root.path)/postgres.log", "-w", "-o",
                               "-h 127.0.0.1 -p \(port) -k \(root.path) -c fsync=off -c max_connections=200", "start"])
        try await ProcessRunner.waitForPort(port)
        let bin = bin
        TestCleanup.register { _ = try? ProcessRunner.run(["runuser", "-u", "postgres", "--", "\(bin)/pg_ctl", "-D", data, "-m", "immediate", "stop"], allowFailure: true) }
    }

    /// A fresh, empty database; returns its URL for `--database`.
    func createDatabase(_ name: String) throws -> String {
        try ProcessRunner.run(["\(bin)/psql", "-h", "127.0.0.1", "-p", String(port), "-U", "mailroom", "-d", "postgres", "-c", "CREATE DATABASE \(name)"])
        return "postgres://mailroom@127.0.0.1:\(port)/\(name)"
    }

    static func findBinDir() throws -> String {
        let base = "/usr/lib/postgresql"
        let versions = (try? FileManager.default.contentsOfDirectory(atPath: base))?.compactMap(Int.init).sorted() ?? []
        guard let latest = versions.last else {
            throw ProcessRunner.Failure(command: "find postgres", status: -1, output: "PostgreSQL is not installed: apt-get install -y postgresql")
        }
        return "\(base)/\(latest)/bin"
    }
}
