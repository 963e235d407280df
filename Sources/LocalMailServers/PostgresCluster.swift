import Foundation

/// A private PostgreSQL cluster on loopback: `initdb` in a folder of its own, `pg_ctl start` on a given port, one
/// superuser (`mailroom`) trusted without a password. For the tests and anything else that needs a throwaway
/// database server.
///
/// PostgreSQL refuses to run as root, so as root the cluster belongs to, and runs as, the `postgres` system user
/// the Debian package creates (through `runuser`).
public struct PostgresCluster: Sendable {
    public let root: String
    public let port: Int
    /// The folder holding `initdb`, `pg_ctl` and `psql` (the newest installed version's).
    public let bin: String
    public static let superuser = "mailroom"

    public var dataDirectory: String { "\(root)/data" }
    public var logFile: String { "\(root)/postgres.log" }

    /// Creates the cluster in `root` (an empty folder) and starts it on `port`; returns once it accepts connections.
    public static func start(in root: String, port: Int) async throws -> PostgresCluster {
        let cluster = PostgresCluster(root: root, port: port, bin: try binDirectory())
        try cluster.initialize()
        try cluster.run(["\(cluster.bin)/pg_ctl", "-D", cluster.dataDirectory, "-l", cluster.logFile, "-w", "-o",
                         "-h 127.0.0.1 -p \(port) -k \(root) -c fsync=off -c max_connections=200", "start"])
        try await LoopbackPort.waitUntilListening(port, name: "PostgreSQL")
        return cluster
    }

    /// Creates a fresh, empty database; returns its URL (`postgres://mailroom@127.0.0.1:PORT/NAME`).
    public func createDatabase(_ name: String) throws(SpawnFailure) -> String {
        try Self.check(["\(bin)/psql", "-h", "127.0.0.1", "-p", String(port), "-U", Self.superuser, "-d", "postgres", "-c", "CREATE DATABASE \(name)"])
        return "postgres://\(Self.superuser)@127.0.0.1:\(port)/\(name)"
    }

    /// Stops the server at once (no checkpoint: the cluster is thrown away).
    public func stop() {
        _ = try? CleanSpawn.run(asOwner(["\(bin)/pg_ctl", "-D", dataDirectory, "-m", "immediate", "stop"]))
    }

    /// The newest installed PostgreSQL's programs (Debian's layout, `/usr/lib/postgresql/<version>/bin`).
    public static func binDirectory() throws(SpawnFailure) -> String {
        let base = "/usr/lib/postgresql"
        let versions = (try? FileManager.default.contentsOfDirectory(atPath: base))?.compactMap(Int.init).sorted() ?? []
        guard let latest = versions.last else {
            throw SpawnFailure(program: "initdb", reason: "PostgreSQL is not installed: apt-get install -y postgresql")
        }
        return "\(base)/\(latest)/bin"
    }

    private func initialize() throws {
        if getuid() == 0 {
            try Self.check(["chown", "-R", "postgres:postgres", root])
            try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: root)
        }
        try run(["\(bin)/initdb", "-D", dataDirectory, "-A", "trust", "-U", Self.superuser, "--no-sync", "-E", "UTF8"])
    }

    /// As root, runs the command as `postgres`; otherwise as this user.
    private func asOwner(_ arguments: [String]) -> [String] {
        getuid() == 0 ? ["runuser", "-u", "postgres", "--"] + arguments : arguments
    }

    private func run(_ arguments: [String]) throws(SpawnFailure) {
        try Self.check(asOwner(arguments))
    }

    private static func check(_ arguments: [String]) throws(SpawnFailure) {
        let (status, output) = try CleanSpawn.run(arguments)
        guard status == 0 else { throw SpawnFailure(program: arguments.joined(separator: " "), reason: "exit \(status): \(output)") }
    }
}
