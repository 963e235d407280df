import Foundation
import LocalMailServers

/// The programs Mailroom is measured beside, installed by the benchmark itself so that anyone with a
/// clone reproduces the README's table: mbsync (Debian's isync) and Python's imaplib with
/// fast-mail-parser from PyPI in a virtual environment of the bench folder.
struct Peers {
    let benchDir: String
    let scripts: String

    var python: String { "\(benchDir)/venv/bin/python" }

    /// Installs what is missing: Dovecot, mbsync and PostgreSQL's server through apt-get (``Prerequisite``),
    /// fast-mail-parser through pip.
    func install() throws {
        try Prerequisite.install(Prerequisite.allCases)
        if (try? CleanSpawn.run([python, "-c", "import fast_mail_parser"]).status) != 0 {
            print("Installing fast-mail-parser into \(benchDir)/venv")
            try must(["python3", "-m", "venv", "\(benchDir)/venv"])
            try must([python, "-m", "pip", "install", "-q", "fast-mail-parser"])
        }
    }

    /// imaplib fetching every message and fast-mail-parser parsing it; seconds as the script measured them.
    func imaplib(port: Int, expect: Int, batch: Int) throws -> Double {
        let result = try CleanSpawn.run([python, "\(scripts)/imaplib_fast_mail_parser.py", "127.0.0.1", String(port),
                                         BenchMailServer.user, BenchMailServer.password, String(expect), String(batch)])
        let words = result.output.split(whereSeparator: \.isWhitespace)
        guard result.status == 0, words.count == 2, let seconds = Double(words[1]) else {
            throw BenchFailure("the imaplib peer failed: \(result.output)")
        }
        return seconds
    }

    /// mbsync pulling INBOX into a fresh Maildir, with or without its fsync after each message.
    func mbsync(port: Int, fsync: Bool, expect: Int) throws -> Double {
        let work = "\(benchDir)/mbsync"
        let local = "\(work)/local"
        try? FileManager.default.removeItem(atPath: work)
        try FileManager.default.createDirectory(atPath: local, withIntermediateDirectories: true)
        let config = """
            FSync \(fsync ? "yes" : "no")

            IMAPAccount bench
            Host 127.0.0.1
            Port \(port)
            User \(BenchMailServer.user)
            Pass \(BenchMailServer.password)
            SSLType None
            AuthMechs LOGIN PLAIN

            IMAPStore remote
            Account bench

            MaildirStore local
            Path \(local)/
            Inbox \(local)/INBOX

            Channel inbox
            Far :remote:
            Near :local:
            Patterns INBOX
            Sync Pull
            Create Near
            Expunge None
            SyncState *

            """
        try config.write(toFile: "\(work)/mbsyncrc", atomically: true, encoding: .utf8)
        let start = ContinuousClock.now
        let result = try CleanSpawn.run(["mbsync", "-q", "-c", "\(work)/mbsyncrc", "inbox"])
        let seconds = (ContinuousClock.now - start).seconds
        guard result.status == 0 else { throw BenchFailure("mbsync failed: \(result.output)") }
        let files = ["cur", "new"].reduce(0) { $0 + ((try? FileManager.default.contentsOfDirectory(atPath: "\(local)/INBOX/\($1)").count) ?? 0) }
        guard files == expect else { throw BenchFailure("mbsync pulled \(files) of \(expect) messages") }
        return seconds
    }
}

extension Duration {
    var seconds: Double { Double(components.seconds) + Double(components.attoseconds) / 1e18 }
}
