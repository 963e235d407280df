import Foundation
import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A loopback TCP server that plays a script of lines, for client tests and for the faults a real server will not
/// produce on demand (an outage answer, a dropped connection, a server that hangs).
///
/// Blocking POSIX sockets on background threads, so the client under test shares nothing with it. Every connection
/// gets the `opening`, then for each line the client sends (CRLF or LF stripped) the `script` says what to do. With
/// `smtpData`, lines after a `354` reply up to the lone `.` are message data: kept in ``dataLines`` and not shown to
/// the script, except the final `.`.
public final class ScriptedLineServer: @unchecked Sendable {
    public enum Action: Sendable {
        /// Send these bytes (use `\r\n` yourself).
        case send(String)
        case sendBytes([UInt8])
        /// Close the connection.
        case close
        /// Stop answering, but keep the connection open until the server stops.
        case silence
    }

    /// What happens as a client connects, before its first line.
    public enum Opening: Sendable {
        /// Sends this first, as a server's greeting.
        case greeting(String)
        /// Sends nothing and waits for the client.
        case quiet
        /// Reads what the client sends first (a TLS ClientHello) and hangs up, as a load balancer or a restarting
        /// server does mid-handshake.
        case hangUpOnFirstBytes
    }

    public let port: Int
    private let listenFD: Int32
    private let lock = NSLock()
    private var clients: Set<Int32> = []
    private var stopped = false
    private var _connections = 0
    private var _lines: [String] = []
    private var _dataLines: [String] = []
    private var _received: [UInt8] = []

    /// Connections accepted so far.
    public var connections: Int { lock.withLock { _connections } }
    /// Lines received from every client (without CRLF, after `recording`), message data excluded.
    public var lines: [String] { lock.withLock { _lines } }
    /// Message data lines (without CRLF, still dot-stuffed), the final `.` excluded; only with `smtpData`.
    public var dataLines: [String] { lock.withLock { _dataLines } }
    /// Every byte received, as sent.
    public var received: [UInt8] { lock.withLock { _received } }

    /// - Parameter recording: how a received line is kept in ``lines`` (e.g. with a password masked).
    public init(
        opening: Opening, smtpData: Bool = false, recording: @escaping @Sendable (String) -> String = { $0 },
        script: @escaping @Sendable (String) -> [Action]
    ) throws {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw POSIXError(.EIO) }
        var yes: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &yes, socklen_t(MemoryLayout<Int32>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = 0
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) } }
        guard bound == 0, listen(fd, 8) == 0 else {
            close(fd)
            throw POSIXError(.EADDRINUSE)
        }
        _ = withUnsafeMutablePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) } }
        listenFD = fd
        port = Int(UInt16(bigEndian: address.sin_port))
        Self.registry.withLock { $0.append(self) }
        let session = Session(opening: opening, smtpData: smtpData, recording: recording, script: script)
        Thread { [self] in acceptLoop(session) }.start()
    }

    /// A server that greets with `greeting` (nothing when nil) and follows `script`.
    public convenience init(greeting: String?, smtpData: Bool = false, script: @escaping @Sendable (String) -> [Action]) throws {
        try self.init(opening: greeting.map(Opening.greeting) ?? .quiet, smtpData: smtpData, script: script)
    }

    /// Answers the n-th line (over all connections) with `replies[n]`; lines beyond the list get `500`.
    public convenience init(greeting: String?, smtpData: Bool = false, replies: [[Action]]) throws {
        let count = Mutex(0)
        try self.init(greeting: greeting, smtpData: smtpData) { _ in
            let index = count.withLock { count in
                defer { count += 1 }
                return count
            }
            return index < replies.count ? replies[index] : [.send("500 5.5.1 unexpected\r\n")]
        }
    }

    /// Servers stay alive for the whole test run: ARC may otherwise release a server right after its last use in a
    /// test (e.g. after reading `port`) and tear the connection down under the client.
    private static let registry = Mutex<[ScriptedLineServer]>([])

    /// Closes the listener and every open connection. Idempotent, and careful never to touch a descriptor after it
    /// was closed (the kernel reuses numbers across parallel tests).
    public func stop() {
        lock.withLock {
            guard !stopped else { return }
            stopped = true
            for fd in clients { shutdown(fd, Int32(SHUT_RDWR)) }
            shutdown(listenFD, Int32(SHUT_RDWR))
            close(listenFD)
        }
    }

    private struct Session: Sendable {
        let opening: Opening
        let smtpData: Bool
        let recording: @Sendable (String) -> String
        let script: @Sendable (String) -> [Action]
    }

    private func acceptLoop(_ session: Session) {
        while true {
            let fd = accept(listenFD, nil, nil)
            guard fd >= 0 else { return }
            let admitted = lock.withLock {
                guard !stopped else { return false }
                clients.insert(fd)
                _connections += 1
                return true
            }
            guard admitted else {
                close(fd)
                return
            }
            Thread { [self] in
                serve(fd, session)
                lock.withLock {
                    clients.remove(fd)
                    close(fd)
                }
            }.start()
        }
    }

    private func serve(_ fd: Int32, _ session: Session) {
        switch session.opening {
        case .greeting(let text): write(fd, Array(text.utf8))
        case .quiet: break
        case .hangUpOnFirstBytes:
            var hello = [UInt8](repeating: 0, count: 4096)
            _ = hello.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            return
        }
        var pending: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65536)
        var silent = false
        var inData = false
        while true {
            let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            guard n > 0 else { return }
            lock.withLock { _received.append(contentsOf: chunk[0..<n]) }
            pending.append(contentsOf: chunk[0..<n])
            while let lf = pending.firstIndex(of: 0x0A) {
                var line = Array(pending[..<lf])
                pending.removeSubrange(...lf)
                if line.last == 0x0D { line.removeLast() }
                let text = String(decoding: line, as: UTF8.self)
                if inData && text != "." {
                    lock.withLock { _dataLines.append(text) }
                    continue
                }
                inData = false
                lock.withLock { _lines.append(session.recording(text)) }
                guard !silent else { continue }
                for action in session.script(text) {
                    switch action {
                    case .send(let string):
                        if session.smtpData && string.hasPrefix("354") { inData = true }
                        write(fd, Array(string.utf8))
                    case .sendBytes(let bytes): write(fd, bytes)
                    case .close: return
                    case .silence: silent = true
                    }
                }
            }
        }
    }

    private func write(_ fd: Int32, _ bytes: [UInt8]) {
        var offset = 0
        while offset < bytes.count {
            let n = bytes[offset...].withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            guard n > 0 else { return }
            offset += n
        }
    }
}
