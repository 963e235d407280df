import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A scripted SMTP server on 127.0.0.1 (blocking POSIX sockets on a background thread) for client
/// tests. It sends `greeting`, then for each client line asks `script` what to do. After it has
/// sent a `354`, lines up to the lone `.` are message data: recorded in ``dataLines`` and not
/// shown to the script, except the final `.`. Everything received is recorded for assertions.
final class FakeSMTPServer: @unchecked Sendable {
    enum Action {
        /// Send these bytes (use `\r\n` yourself).
        case send(String)
        case sendBytes([UInt8])
        /// Close the connection.
        case close
        /// Stop answering but keep the socket open until the test ends.
        case silence
    }

    let port: Int
    private let listenFD: Int32
    private let lock = NSLock()
    private var _lines: [String] = []
    private var _dataLines: [String] = []
    private var _received: [UInt8] = []
    private var clientFD: Int32 = -1

    /// Command lines received from the client (without CRLF), message data excluded.
    var lines: [String] { self.lock.withLock { self._lines } }
    /// Message data lines (without CRLF, still dot-stuffed), the final `.` excluded.
    var dataLines: [String] { self.lock.withLock { self._dataLines } }
    /// Every byte received, as sent.
    var received: [UInt8] { self.lock.withLock { self._received } }

    init(greeting: String? = "220 fake.test ESMTP ready\r\n", script: @escaping @Sendable (String) -> [Action]) throws {
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
        guard bound == 0, listen(fd, 4) == 0 else { throw POSIXError(.EADDRINUSE) }
        _ = withUnsafeMutablePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) } }
        self.listenFD = fd
        self.port = Int(UInt16(bigEndian: address.sin_port))
        Self.registryLock.withLock { Self.registry.append(self) }
        let thread = Thread { [self] in self.serve(greeting: greeting, script: script) }
        thread.start()
    }

    /// Answers the n-th command line with `replies[n]`; lines beyond the list get `500`.
    convenience init(greeting: String? = "220 fake.test ESMTP ready\r\n", replies: [[Action]]) throws {
        let counter = Counter()
        try self.init(greeting: greeting) { _ in
            let index = counter.next()
            return index < replies.count ? replies[index] : [.send("500 5.5.1 unexpected\r\n")]
        }
    }

    /// Servers stay alive for the whole test run (see FakeIMAPServer for why).
    nonisolated(unsafe) private static var registry: [FakeSMTPServer] = []
    private static let registryLock = NSLock()

    private func serve(greeting: String?, script: @Sendable (String) -> [Action]) {
        let fd = accept(self.listenFD, nil, nil)
        guard fd >= 0 else { return }
        self.lock.withLock { self.clientFD = fd }
        defer {
            self.lock.withLock {
                self.clientFD = -1
                Glibc.close(fd)
            }
        }
        if let greeting { self.write(fd, Array(greeting.utf8)) }
        var pending: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65536)
        var silent = false
        var inData = false
        while true {
            let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            guard n > 0 else { return }
            self.lock.withLock { self._received.append(contentsOf: chunk[0..<n]) }
            pending.append(contentsOf: chunk[0..<n])
            while let lf = pending.firstIndex(of: 0x0A) {
                var line = Array(pending[..<lf])
                pending.removeSubrange(...lf)
                if line.last == 0x0D { line.removeLast() }
                let text = String(decoding: line, as: UTF8.self)
                if inData && text != "." {
                    self.lock.withLock { self._dataLines.append(text) }
                    continue
                }
                inData = false
                self.lock.withLock { self._lines.append(text) }
                guard !silent else { continue }
                for action in script(text) {
                    switch action {
                    case .send(let string):
                        if string.hasPrefix("354") { inData = true }
                        self.write(fd, Array(string.utf8))
                    case .sendBytes(let bytes): self.write(fd, bytes)
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

private final class Counter: @unchecked Sendable {
    private let lock = NSLock()
    private var value = 0
    func next() -> Int {
        self.lock.withLock {
            defer { self.value += 1 }
            return self.value
        }
    }
}
