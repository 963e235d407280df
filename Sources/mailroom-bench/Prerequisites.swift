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
        }
    }

    static func install(_ wanted: [Prerequisite]) throws {
        let packages = wanted.filter { (try? CleanSpawn.run(["sh", "-c", $0.check.test]).status) != 0 }.flatMap(\.check.packages)
        guard !packages.isEmpty else { return }
        let sudo = getuid() == 0 ? [] : ["sudo"]
        print("Installing \(packages.joined(separator: ", ")) with apt-get")
        try must(sudo + ["apt-get", "update", "-q"], environment: [:])
        // Debian's packages try to start their system services; the benchmarks start their own instances.
        try must(sudo + ["apt-get", "install", "-y", "-q"] + packages, environment: ["DEBIAN_FRONTEND": "noninteractive"])
    }
}

/// Runs a setup step whose failure ends the benchmark, with what the program printed.
func must(_ arguments: [String], environment: [String: String]) throws {
    let result = try CleanSpawn.run(arguments, environment: environment)
    guard result.status == 0 else { throw BenchFailure("`\(arguments.joined(separator: " "))` failed: \(result.output)") }
}
