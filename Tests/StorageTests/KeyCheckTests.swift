import Crypto
import Foundation
import Logging
import MailroomCore
import MailroomTestSupport
import Storage
import Testing

/// A database remembers its secret key: a missing or different key stops Mailroom with what to do, never a new key.
@Suite("The secret key belongs to its database", .serialized)
struct KeyCheckTests {
    @Test("The key file lives beside the SQLite file, is made once with mode 0600; a missing or wrong key for a database with secrets is a clear error and no new key", arguments: Backend.allCases)
    func keyBelongsToDatabase(backend: Backend) async throws {
        let fixture = try await StoreFixture.make(backend, name: "keycheck")
        let logger = Logger(label: "test")
        let folder = try TestPaths.temporaryDirectory("keycheck")
        let keyFile = folder.appendingPathComponent("mailroom.key").path
        let vault = try await KeyCheck.vault(store: fixture.store, environment: [:], keyFile: keyFile, logger: logger)
        let attributes = try FileManager.default.attributesOfItem(atPath: keyFile)
        #expect((attributes[.posixPermissions] as? NSNumber)?.intValue == 0o600)
        _ = try await fixture.store.createMailbox(
            try MailboxDraft(email: "k@example.com", name: "K", imapHost: "imap.example.com").validated(), incomingSecret: try vault.seal("pw", for: .password(of: "k@example.com")), at: Date())
        let again = try await KeyCheck.vault(store: fixture.store, environment: [:], keyFile: keyFile, logger: logger)
        let mailboxID = try #require(try await fixture.store.mailboxes().first?.id)
        #expect(try again.open(try #require(try await fixture.store.incomingSecret(mailboxID)), for: .password(of: "k@example.com")) == "pw")

        // The key file was lost: Mailroom refuses to start instead of making a new key.
        let saved = try Data(contentsOf: URL(fileURLWithPath: keyFile))
        try FileManager.default.removeItem(atPath: keyFile)
        await #expect { try await KeyCheck.vault(store: fixture.store, environment: [:], keyFile: keyFile, logger: logger) } throws: { error in
            "\(error)".contains("does not exist") && "\(error)".contains("Restore the key file")
        }
        #expect(!FileManager.default.fileExists(atPath: keyFile), "no new key was made")

        // Another key: refused with what to do.
        let other = SymmetricKey(size: .bits256).withUnsafeBytes { Data($0).base64EncodedString() }
        await #expect { try await KeyCheck.vault(store: fixture.store, environment: ["MAILROOM_SECRET_KEY": other], keyFile: keyFile, logger: logger) } throws: { error in
            "\(error)".contains("is not the one this database") && "\(error)".contains("MAILROOM_SECRET_KEY")
        }
        // The right key restored works again.
        try saved.write(to: URL(fileURLWithPath: keyFile))
        _ = try await KeyCheck.vault(store: fixture.store, environment: [:], keyFile: keyFile, logger: logger)
    }

    @Test("Secrets sealed before they were bound to their row are sealed again at start, and then open only in their own mailbox", arguments: Backend.allCases)
    func legacySecretsAreBound(backend: Backend) async throws {
        let fixture = try await StoreFixture.make(backend, name: "legacy")
        let key = SymmetricKey(size: .bits256)
        // Version 1: AES-GCM without associated data, as Mailroom sealed before.
        func legacy(_ text: String) throws -> SealedSecret {
            SealedSecret(bytes: [1] + Array(try #require(try AES.GCM.seal(Data(text.utf8), using: key).combined)))
        }
        let a = try await fixture.store.createMailbox(
            try MailboxDraft(email: "a@example.com", name: "A", imapHost: "imap.example.com").validated(), incomingSecret: try legacy("password of a"), at: Date())
        let b = try await fixture.store.createMailbox(
            try MailboxDraft(email: "b@example.com", name: "B", imapHost: "imap.example.com").validated(), incomingSecret: try legacy("password of b"), at: Date())
        let encoded = key.withUnsafeBytes { Data($0).base64EncodedString() }
        let vault = try await KeyCheck.vault(store: fixture.store, environment: ["MAILROOM_SECRET_KEY": encoded], keyFile: "/nonexistent/key", logger: Logger(label: "test"))
        let sealedA = try #require(try await fixture.store.incomingSecret(a.id))
        #expect(sealedA.bytes.first == 2, "sealed again in the bound format")
        #expect(try vault.open(sealedA, for: .password(of: "a@example.com")) == "password of a")
        // A's sealed password copied into B's row does not open as B's.
        try await fixture.store.replacePassword(b.id, with: sealedA, at: Date())
        let moved = try #require(try await fixture.store.incomingSecret(b.id))
        #expect(throws: VaultError.self) { try vault.open(moved, for: .password(of: "b@example.com")) }
    }

    @Test("A PostgreSQL connection off this machine without TLS is the one that is warned about")
    func exposedDatabase() throws {
        #expect(try DatabaseURL(parsing: "postgres://m@db.example.com/m").crossesNetworkInTheClear)
        #expect(try !DatabaseURL(parsing: "postgres://m@db.example.com/m?sslmode=verify-full").crossesNetworkInTheClear)
        #expect(try !DatabaseURL(parsing: "postgres://m@127.0.0.1:5432/m").crossesNetworkInTheClear)
        #expect(try !DatabaseURL(parsing: "postgres://m@localhost/m").crossesNetworkInTheClear)
        #expect(try !DatabaseURL(parsing: "mailroom.sqlite").crossesNetworkInTheClear)
    }

    @Test("Where the key file goes by default")
    func defaultKeyFile() {
        #expect(KeyCheck.defaultKeyFile(for: .sqlite(path: "/var/lib/mailroom/mailroom.sqlite")) == "/var/lib/mailroom/mailroom.key")
        #expect(KeyCheck.defaultKeyFile(for: .sqlite(path: "mailroom.sqlite")) == "mailroom.key")
        #expect(KeyCheck.defaultKeyFile(for: .postgres(host: "db", port: 5432, username: "m", password: nil, database: "m")) == "mailroom.key")
    }

    @Test("MAILROOM_KEY_FILE places the key file, and --key-file wins over it")
    func keyFileFromEnvironment() throws {
        let workdir = try TestPaths.temporaryDirectory("keycheck-env")
        let binary = try TestPaths.mailroomBinary
        let fromEnvironment = workdir.appendingPathComponent("secrets/env.key").path
        let fromFlag = workdir.appendingPathComponent("flag.key").path
        try FileManager.default.createDirectory(atPath: workdir.appendingPathComponent("secrets").path, withIntermediateDirectories: true)
        let first = workdir.appendingPathComponent("one.sqlite").path
        // The first command that seals a secret makes the key (the connection test that follows fails: no server).
        let add = ["mailbox", "add", "--email", "a@example.com", "--name", "X", "--imap-host", "127.0.0.1", "--imap-port", "1", "--password-stdin"]
        _ = try ProcessRunner.run(["env", "-u", "MAILROOM_SECRET_KEY", "MAILROOM_KEY_FILE=\(fromEnvironment)", binary] + add + ["--database", first],
                                  input: "pw\n", allowFailure: true)
        #expect(FileManager.default.fileExists(atPath: fromEnvironment), "the key is made where MAILROOM_KEY_FILE says")
        #expect(!FileManager.default.fileExists(atPath: workdir.appendingPathComponent("mailroom.key").path), "not beside the database")
        let second = workdir.appendingPathComponent("two.sqlite").path
        _ = try ProcessRunner.run(["env", "-u", "MAILROOM_SECRET_KEY", "MAILROOM_KEY_FILE=\(workdir.path)/unused.key", binary] + add
                                  + ["--database", second, "--key-file", fromFlag], input: "pw\n", allowFailure: true)
        #expect(FileManager.default.fileExists(atPath: fromFlag))
        #expect(!FileManager.default.fileExists(atPath: "\(workdir.path)/unused.key"))
    }

    @Test("mailroom serve with another key than its database's stops at once and says what to do")
    func serveRefusesWrongKey() throws {
        let workdir = try TestPaths.temporaryDirectory("keycheck-serve")
        let database = workdir.appendingPathComponent("data/m.sqlite")
        try FileManager.default.createDirectory(at: database.deletingLastPathComponent(), withIntermediateDirectories: true)
        let key = SymmetricKey(size: .bits256).withUnsafeBytes { Data($0).base64EncodedString() }
        let first = try ProcessRunner.run(["env", "MAILROOM_SECRET_KEY=\(key)", try TestPaths.mailroomBinary, "mailbox", "add", "--database", database.path,
                                           "--email", "a@example.com", "--name", "X", "--imap-host", "127.0.0.1", "--imap-port", "1", "--password-stdin"],
                                          input: "pw\n", allowFailure: true)
        #expect(!first.isEmpty, "the first command that needs the key ties it to the database")
        let other = SymmetricKey(size: .bits256).withUnsafeBytes { Data($0).base64EncodedString() }
        let refused = try ProcessRunner.run(["timeout", "60", "env", "MAILROOM_SECRET_KEY=\(other)", try TestPaths.mailroomBinary, "serve",
                                             "--database", database.path, "--port", "\(try ProcessRunner.freePort())"], allowFailure: true)
        #expect(refused.contains("is not the one this database"), "\(refused.suffix(500))")
        #expect(!refused.contains(other), "the key itself is never printed")
    }
}

@Suite("Several processes opening a new SQLite database at once")
struct ConcurrentFirstOpenTests {
    @Test("Four `mailroom migrate` started together on a new database all succeed: none traps on a busy WAL switch, none is left half set up")
    func concurrentFirstOpen() throws {
        let binary = try TestPaths.mailroomBinary
        for round in 1...5 {
            let dir = try TestPaths.temporaryDirectory("first-open-\(round)")
            let database = dir.appendingPathComponent("mailroom.sqlite").path
            let key = dir.appendingPathComponent("mailroom.key").path
            // All four start before any of them has made the file: the race `serve` and `admin create` ran into.
            let script = (1...4).map { "'\(binary)' migrate --database '\(database)' --key-file '\(key)' > '\(dir.path)/out\($0)' 2>&1 & " }.joined()
                + "fail=0; for job in $(jobs -p); do wait $job || fail=1; done; exit $fail"
            let output = try ProcessRunner.run(["bash", "-c", script], allowFailure: true)
            let logs = (1...4).map { (try? String(contentsOfFile: "\(dir.path)/out\($0)", encoding: .utf8)) ?? "" }.joined(separator: "\n")
            #expect(!logs.contains("Assertion failed") && !logs.contains("crashed"), "round \(round): \(logs.suffix(1500))")
            #expect(!logs.contains("Error:"), "round \(round): \(output) \(logs.suffix(1500))")
        }
    }
}
