import LocalMailServers

/// The PostgreSQL cluster this test process shares (``PostgresCluster``, in a temporary folder on a free loopback
/// port), started on first use and stopped at exit.
public actor TestPostgres {
    public static let shared = TestPostgres()
    private var started: Task<PostgresCluster, any Error>?

    public func cluster() async throws -> PostgresCluster {
        if let started { return try await started.value }
        let task = Task {
            let cluster = try await PostgresCluster.start(in: try TestPaths.temporaryDirectory("postgres").path, port: try LoopbackPort.free())
            TestCleanup.register { cluster.stop() }
            return cluster
        }
        started = task
        return try await task.value
    }

    /// A fresh, empty database on the shared cluster; returns its URL for `--database`.
    public func createDatabase(_ name: String) async throws -> String {
        try await cluster().createDatabase(name)
    }
}
