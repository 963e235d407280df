import Foundation
import LocalMailServers

/// The Debian packages a benchmark starts or runs, installed when missing (as root, or with sudo), so that each
/// command works on a fresh machine from the clone alone, as the README promises.
enum Prerequisite: CaseIterable {
    /// Dovecot's IMAP server, `doveadm`, and the submission service its configuration also declares: every
    /// benchmark's private mail server.
    case dovecot
    /// The certificates of that server.
    case openssl
    /// mbsync, a peer of `ingest`.
    case isync
    /// PostgreSQL's server, for the rows and fleets on PostgreSQL.
    case postgresql
    /// A virtual environment for fast-mail-parser.
    case pythonVenv
    /// The raw IDLE client the latency benchmark measures beside Mailroom.
    case python

    /// The shell test that says it is present, and the packages that provide it.
    var check: (test: String, packages: [String]) {
        switch self {
        case .dovecot:
            ("command -v dovecot && command -v doveadm && test -x /usr/lib/dovecot/submission",
             ["dovecot-imapd", "dovecot-core", "dovecot-submissiond"])
        case .openssl: ("command -v openssl", ["openssl"])
        case .isync: ("command -v mbsync", ["isync"])
        case .postgresql: ("ls /usr/lib/postgresql/*/bin/initdb", ["postgresql"])
        case .pythonVenv: ("python3 -c 'import ensurepip, venv'", ["python3", "python3-venv"])
        case .python: ("command -v python3", ["python3"])
        }
    }

    /// The system services a package starts on install, which the benchmarks never use (they run their own).
    var service: String? {
        switch self {
        case .dovecot: "dovecot"
        case .postgresql: "postgresql"
        default: nil
        }
    }

    static func install(_ wanted: [Prerequisite]) throws {
        let missing = wanted.filter { (try? CleanSpawn.run(["sh", "-c", $0.check.test]).status) != 0 }
        let packages = missing.flatMap(\.check.packages)
        guard !packages.isEmpty else { return }
        // Through `env`: sudo's env_reset would drop DEBIAN_FRONTEND.
        let root = (getuid() == 0 ? [] : ["sudo"]) + ["env", "DEBIAN_FRONTEND=noninteractive"]
        print("Installing \(packages.joined(separator: ", ")) with apt-get")
        try must(root + ["apt-get", "update", "-q"])
        try must(root + ["apt-get", "install", "-y", "-q"] + packages)
        // Debian starts a package's system service where systemd runs: a system Dovecot would then sign in local
        // accounts on ports 143 and 993. The benchmarks run their own instances, so what was just installed is
        // stopped and left disabled.
        let services = missing.compactMap(\.service)
        if !services.isEmpty, FileManager.default.fileExists(atPath: "/run/systemd/system") {
            _ = try? CleanSpawn.run(root + ["systemctl", "disable", "--now"] + services)
        }
    }
}

/// Runs a setup step whose failure ends the benchmark, with what the program printed.
func must(_ arguments: [String]) throws {
    let result = try CleanSpawn.run(arguments)
    guard result.status == 0 else { throw BenchFailure("`\(arguments.joined(separator: " "))` failed: \(result.output)") }
}
