import Foundation
import MailroomTestSupport
import Storage
import Testing

@Suite("One server per SQLite database")
struct ServeLockTests {
    @Test("The lock is held once, also through a symbolic link to the database, names its holder, and frees when let go")
    func heldOnce() throws {
        let folder = try TestPaths.temporaryDirectory("servelock")
        let database = folder.appendingPathComponent("mailroom.sqlite").path
        #expect(FileManager.default.createFile(atPath: database, contents: Data()))
        let link = folder.appendingPathComponent("link.sqlite").path
        try FileManager.default.createSymbolicLink(atPath: link, withDestinationPath: database)

        var first: ServeLock? = try ServeLock(database: database)
        for name in [database, link] {
            do {
                _ = try ServeLock(database: name)
                Issue.record("a second lock on \(name) was granted")
            } catch let ServeLockError.held(_, pid) {
                #expect(pid == getpid())
            }
        }
        #expect(first?.path.hasSuffix("mailroom.sqlite-serve.lock") == true)
        first = nil
        _ = try ServeLock(database: link)
    }

    @Test("A lock file that cannot be made is a clear error naming it")
    func unusable() throws {
        let database = try TestPaths.temporaryDirectory("servelock-missing").appendingPathComponent("no such folder/mailroom.sqlite").path
        #expect { _ = try ServeLock(database: database) } throws: { error in
            guard case ServeLockError.unusable = error else { return false }
            return "\(error)".contains("mailroom.sqlite-serve.lock") && "\(error)".contains("No such file")
        }
    }
}
