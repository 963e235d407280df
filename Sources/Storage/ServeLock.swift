#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation

/// Only one `mailroom serve` at a time on a SQLite database: an exclusive lock on a file beside it, held for the
/// process's life. Two servers on one file would both fetch every mailbox and send every reply, since both go by
/// the host's name. The kernel drops the lock when the process dies however it dies, so a server restarted after a
/// crash knows at once that its predecessor is gone, and resumes at once.
public final class ServeLock: Sendable {
    public let path: String
    private let descriptor: Int32

    /// Takes the lock, or throws ``ServeLockError`` naming the process that holds it.
    public init(database: String) throws {
        // Beside the file itself, not beside a symbolic link to it: two names for one database share one lock.
        let path = URL(fileURLWithPath: database).resolvingSymlinksInPath().path + "-serve.lock"
        let descriptor = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else { throw ServeLockError.unusable(path: path, reason: String(cString: strerror(errno))) }
        guard flock(descriptor, LOCK_EX | LOCK_NB) == 0 else {
            let reason = errno
            var buffer = [UInt8](repeating: 0, count: 32)
            let count = pread(descriptor, &buffer, buffer.count, 0)
            close(descriptor)
            if reason == EWOULDBLOCK {
                let holder = count > 0 ? Int32(String(decoding: buffer[..<count], as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)) : nil
                throw ServeLockError.held(path: path, pid: holder)
            }
            throw ServeLockError.unusable(path: path, reason: String(cString: strerror(reason)))
        }
        // For the message a second server shows; the lock, not this number, is what counts.
        let pid = Array("\(getpid())\n".utf8)
        _ = ftruncate(descriptor, 0)
        _ = pid.withUnsafeBytes { pwrite(descriptor, $0.baseAddress, $0.count, 0) }
        self.path = path
        self.descriptor = descriptor
    }

    deinit { close(descriptor) }
}

public enum ServeLockError: Error, CustomStringConvertible {
    case held(path: String, pid: Int32?)
    case unusable(path: String, reason: String)

    public var description: String {
        switch self {
        case .held(let path, let pid):
            "Another `mailroom serve`\(pid.map { " (process \($0))" } ?? "") is already running on this database (it holds \(path)). "
                + "Only one server may use a SQLite database: stop that one first, or use PostgreSQL to run several nodes."
        case .unusable(let path, let reason):
            "Could not lock \(path), which keeps a second `mailroom serve` off this database: \(reason)."
        }
    }
}
