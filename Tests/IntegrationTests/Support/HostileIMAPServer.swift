import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A misbehaving IMAP server on 127.0.0.1 (plain TCP, blocking POSIX sockets on background threads) for the
/// faults a real Dovecot will not produce on demand: a backend outage, a dropped connection, a server that hangs.
/// Every connection gets the same behaviour; connections are counted so a test can tell the client really came.
final class HostileIMAPServer: @unchecked Sendable {
    enum Behaviour: Sendable {
        /// Greets, then answers every LOGIN/AUTHENTICATE with `NO [UNAVAILABLE] Backend down` (RFC 5530).
        case unavailable
        /// Greets, then hangs up as soon as the client sends its first command (a connection dropped mid-session).
        case dropAfterGreeting
        /// Accepts the connection and never sends a byte (not even the greeting).
        case silent
        /// Reads what the client sends first (a TLS ClientHello) and hangs up, as a load balancer or a restarting
        /// server does mid-handshake.
        case hangUpAfterClientHello
    }

    static let greeting = "* OK [CAPABILITY IMAP4rev1 ID] Hostile IMAP ready.\r\n"

    let port: Int
    let behaviour: Behaviour
    private let listenFD: Int32
    private let lock = NSLock()
    private var clients: Set<Int32> = []
    private var stopped = false
    private var _connections = 0
    private var _lines: [String] = []

    /// Connections accepted so far.
    var connections: Int { lock.withLock { _connections } }
    /// Command lines received (tags kept, arguments of LOGIN masked).
    var lines: [String] { lock.withLock { _lines } }

    init(_ behaviour: Behaviour) throws {
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
        self.listenFD = fd
        self.port = Int(UInt16(bigEndian: address.sin_port))
        self.behaviour = behaviour
        let thread = Thread { [self] in self.acceptLoop() }
        thread.start()
    }

    /// Closes the listener and every open connection. Idempotent.
    func stop() {
        lock.withLock {
            guard !stopped else { return }
            stopped = true
            for fd in clients { shutdown(fd, Int32(SHUT_RDWR)) }
            shutdown(listenFD, Int32(SHUT_RDWR))
            close(listenFD)
        }
    }

    private func acceptLoop() {
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
            let thread = Thread { [self] in
                self.serve(fd)
                self.lock.withLock {
                    self.clients.remove(fd)
                    close(fd)
                }
            }
            thread.start()
        }
    }

    private func serve(_ fd: Int32) {
        if behaviour == .hangUpAfterClientHello {
            var hello = [UInt8](repeating: 0, count: 4096)
            _ = hello.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            return
        }
        if behaviour != .silent { write(fd, Self.greeting) }
        var pending: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 4096)
        while true {
            let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            guard n > 0 else { return }
            pending.append(contentsOf: chunk[0..<n])
            while let lf = pending.firstIndex(of: 0x0A) {
                var line = Array(pending[..<lf])
                pending.removeSubrange(...lf)
                if line.last == 0x0D { line.removeLast() }
                let text = String(decoding: line, as: UTF8.self)
                let parts = text.split(separator: " ", maxSplits: 2).map(String.init)
                let tag = parts.first ?? "*"
                let command = parts.count > 1 ? parts[1].uppercased() : ""
                lock.withLock { _lines.append(command == "LOGIN" || command == "AUTHENTICATE" ? "\(tag) \(command) …" : text) }
                switch behaviour {
                case .silent, .hangUpAfterClientHello:
                    continue
                case .dropAfterGreeting:
                    return
                case .unavailable:
                    switch command {
                    case "LOGIN", "AUTHENTICATE":
                        write(fd, "\(tag) NO [UNAVAILABLE] Backend down\r\n")
                    case "CAPABILITY":
                        write(fd, "* CAPABILITY IMAP4rev1 ID\r\n\(tag) OK CAPABILITY completed\r\n")
                    case "LOGOUT":
                        write(fd, "* BYE Hostile IMAP logging out\r\n\(tag) OK LOGOUT completed\r\n")
                        return
                    default:
                        write(fd, "\(tag) BAD Not here\r\n")
                    }
                }
            }
        }
    }

    private func write(_ fd: Int32, _ text: String) {
        let bytes = Array(text.utf8)
        var offset = 0
        while offset < bytes.count {
            let n = bytes[offset...].withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            guard n > 0 else { return }
            offset += n
        }
    }
}
