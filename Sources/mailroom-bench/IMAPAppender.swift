import Foundation
import Glibc

/// The bench's own IMAP connection that puts new mail on the server: LOGIN, then APPEND with a non-synchronizing
/// literal (LITERAL+, one write per message). A bare blocking socket rather than Mailroom's IMAP client, so what
/// is measured never shares an event loop with what measures it; its calls run on a queue of their own, off the
/// cooperative pool that Mailroom's in-process sessions use.
final class IMAPAppender: @unchecked Sendable {
    private let socket: Int32
    private let queue = DispatchQueue(label: "mailroom-bench.appender")
    /// Bytes read past the last line; touched only on `queue`.
    private var pending: [UInt8] = []
    private var tag = 0

    private init(socket: Int32) { self.socket = socket }

    /// Connects to 127.0.0.1:`port` and signs in.
    static func connect(port: Int, user: String, password: String) async throws -> IMAPAppender {
        let fd = Glibc.socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw BenchFailure("socket: \(String(cString: strerror(errno)))") }
        var one: Int32 = 1
        setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard connected == 0 else {
            let reason = String(cString: strerror(errno))
            close(fd)
            throw BenchFailure("cannot connect to IMAP port \(port): \(reason)")
        }
        let appender = IMAPAppender(socket: fd)
        try await appender.onQueue {
            _ = try appender.readLine()
            try appender.command(Array("LOGIN \"\(user)\" \"\(password)\"".utf8))
        }
        return appender
    }

    /// Creates the folder anew, empty.
    func recreate(_ folder: String) async throws {
        _ = try? await onQueue { try self.command(Array("DELETE \(folder)".utf8)) }
        try await onQueue { try self.command(Array("CREATE \(folder)".utf8)) }
    }

    /// APPENDs `message` to `folder`; returns the monotonic time just before the command was sent.
    func append(_ message: [UInt8], to folder: String = "INBOX") async throws -> UInt64 {
        try await onQueue {
            let head = Array("APPEND \(folder) {\(message.count)+}\r\n".utf8)
            let start = Monotonic.now()
            try self.command(head + message)
            return start
        }
    }

    func logout() async {
        _ = try? await onQueue { try self.command(Array("LOGOUT".utf8)) }
        close(socket)
    }

    private func onQueue<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            queue.async { continuation.resume(with: Result { try body() }) }
        }
    }

    /// Sends a tagged command and reads up to its tagged answer, which must be OK.
    private func command(_ text: [UInt8]) throws {
        tag += 1
        let name = "b\(tag)"
        try write(Array("\(name) ".utf8) + text + [13, 10])
        while true {
            let line = try readLine()
            guard line.hasPrefix(name + " ") else { continue }
            guard line.dropFirst(name.count + 1).hasPrefix("OK") else { throw BenchFailure("IMAP server refused: \(line)") }
            return
        }
    }

    private func write(_ bytes: [UInt8]) throws {
        var offset = 0
        while offset < bytes.count {
            let sent = bytes[offset...].withUnsafeBytes { Glibc.send(socket, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            guard sent > 0 else { throw BenchFailure("IMAP write failed: \(String(cString: strerror(errno)))") }
            offset += sent
        }
    }

    private func readLine() throws -> String {
        while true {
            if let end = pending.firstIndex(of: 10) {
                let line = String(decoding: pending[..<end], as: UTF8.self)
                pending.removeSubrange(...end)
                return line.hasSuffix("\r") ? String(line.dropLast()) : line
            }
            var chunk = [UInt8](repeating: 0, count: 4096)
            let count = chunk.withUnsafeMutableBytes { Glibc.recv(socket, $0.baseAddress, $0.count, 0) }
            guard count > 0 else { throw BenchFailure("the IMAP server closed the connection") }
            pending += chunk[..<count]
        }
    }
}
