import NIOPosix
import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Where a large message waits on disk while it arrives, so a receiver with many slow senders holds
/// at most the spool threshold of each in memory. Mode 0600 (mail is private); removed after filing,
/// after a refusal and when the connection ends. The blocking file calls run on NIO's thread pool,
/// never on an event loop.
final class SMTPSpoolFile: Sendable {
    /// Why spooling failed, with the OS's reason (no message content, no path of anyone else's).
    struct Failure: Error, CustomStringConvertible {
        let operation: String
        let code: Int32
        var description: String { "spool \(self.operation) failed: \(String(cString: strerror(self.code)))" }
        /// The session counted spooled bytes but there is no file.
        static let missing = Failure(operation: "read", code: EBADF)
        /// The file was removed meanwhile: the connection ended, nothing is wrong with the disk.
        var wasRemoved: Bool { self.code == ECANCELED }
    }

    let path: String
    /// The open descriptor, or `nil` once removed; the lock also keeps a write and a removal apart.
    private let descriptor: Mutex<Int32?>

    private init(path: String, descriptor: Int32) {
        self.path = path
        self.descriptor = Mutex(descriptor)
    }

    /// Creates `mailroom-smtp-XXXXXX` in `directory` with `mkstemp` (new, exclusive, 0600).
    static func create(in directory: String) async throws -> SMTPSpoolFile {
        try await NIOThreadPool.singleton.runIfActive {
            var template = Array("\(directory)/mailroom-smtp-XXXXXX".utf8CString)
            let fd = template.withUnsafeMutableBufferPointer { buffer -> Int32 in
                guard let base = buffer.baseAddress else { return -1 }
                return mkstemp(base)
            }
            guard fd >= 0 else { throw Failure(operation: "create", code: errno) }
            _ = fchmod(fd, 0o600)
            let path = String(decoding: template.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
            return SMTPSpoolFile(path: path, descriptor: fd)
        }
    }

    /// Appends all of `bytes`.
    func append(_ bytes: [UInt8]) async throws {
        try await NIOThreadPool.singleton.runIfActive {
            try self.descriptor.withLock { descriptor throws(Failure) in
                guard let fd = descriptor else { throw Failure(operation: "write", code: ECANCELED) }
                var offset = 0
                while offset < bytes.count {
                    let written = bytes[offset...].withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
                    if written < 0 {
                        if errno == EINTR { continue }
                        throw Failure(operation: "write", code: errno)
                    }
                    offset += written
                }
            }
        }
    }

    /// The whole file, which must be exactly `expectedSize` bytes (what the session counted), so a
    /// file changed behind our back is never filed and never read without bound.
    func contents(expectedSize: Int) async throws -> [UInt8] {
        try await NIOThreadPool.singleton.runIfActive {
            try self.descriptor.withLock { descriptor throws(Failure) -> [UInt8] in
                guard let fd = descriptor else { throw Failure(operation: "read", code: ECANCELED) }
                var status = stat()
                guard fstat(fd, &status) == 0 else { throw Failure(operation: "read", code: errno) }
                guard Int(status.st_size) == expectedSize else { throw Failure(operation: "read", code: EIO) }
                var bytes = [UInt8](repeating: 0, count: expectedSize)
                var offset = 0
                while offset < expectedSize {
                    let count = bytes.withUnsafeMutableBytes { buffer in
                        pread(fd, buffer.baseAddress.map { $0 + offset }, expectedSize - offset, off_t(offset))
                    }
                    if count < 0 {
                        if errno == EINTR { continue }
                        throw Failure(operation: "read", code: errno)
                    }
                    guard count > 0 else { throw Failure(operation: "read", code: EIO) }
                    offset += count
                }
                return bytes
            }
        }
    }

    /// Closes and deletes the file; safe to call more than once.
    func remove() {
        let fd: Int32? = self.descriptor.withLock { descriptor in
            defer { descriptor = nil }
            return descriptor
        }
        guard let fd else { return }
        _ = close(fd)
        _ = unlink(self.path)
    }

    deinit { self.remove() }
}
