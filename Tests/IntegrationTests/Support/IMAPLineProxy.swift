import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A plain-TCP IMAP proxy on loopback in front of a real server, line by line, for what a real server will not do
/// on request:
/// - `swallowIdleAnnouncements`: swallow what the server announces while the client is in IDLE (`* n EXISTS`,
///   `* n EXPUNGE`) — a server that "fails to announce mail", which only the reconciliation pass can catch;
/// - `beforeClientLine`: see each of the client's lines before the server does, and drop it with the connection
///   (return false) — e.g. to kill the client the moment it sends a command, so that command never arrives.
/// Everything else passes unchanged.
final class IMAPLineProxy: @unchecked Sendable {
    let port: Int
    private let upstreamPort: Int
    private let swallowIdleAnnouncements: Bool
    private let beforeClientLine: (@Sendable (String) -> Bool)?
    private let listener: Int32
    private let lock = NSLock()
    private var sockets: [Int32] = []
    private var stopped = false
    private var swallowedCount = 0
    /// Announcements swallowed so far.
    var swallowed: Int { lock.withLock { swallowedCount } }

    init(upstreamPort: Int, swallowIdleAnnouncements: Bool = false, beforeClientLine: (@Sendable (String) -> Bool)? = nil) throws {
        self.upstreamPort = upstreamPort
        self.swallowIdleAnnouncements = swallowIdleAnnouncements
        self.beforeClientLine = beforeClientLine
        let listener = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        self.listener = listener
        var yes: Int32 = 1
        setsockopt(listener, SOL_SOCKET, SO_REUSEADDR, &yes, socklen_t(MemoryLayout<Int32>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(listener, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard bound == 0, listen(listener, 16) == 0 else { throw POSIXError(.EADDRINUSE) }
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(listener, $0, &length) }
        }
        port = Int(UInt16(bigEndian: address.sin_port))
        Thread.detachNewThread { [self] in acceptLoop() }
    }

    func stop() {
        lock.withLock {
            stopped = true
            for socket in sockets { shutdown(socket, Int32(SHUT_RDWR)); close(socket) }
            sockets = []
        }
        shutdown(listener, Int32(SHUT_RDWR))
        close(listener)
    }

    private func acceptLoop() {
        while true {
            let client = accept(listener, nil, nil)
            guard client >= 0 else { return }
            let upstream = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            var address = sockaddr_in()
            address.sin_family = sa_family_t(AF_INET)
            address.sin_addr.s_addr = inet_addr("127.0.0.1")
            address.sin_port = UInt16(upstreamPort).bigEndian
            let connected = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(upstream, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
            }
            let keep = lock.withLock { () -> Bool in
                guard !stopped, connected == 0 else { return false }
                sockets += [client, upstream]
                return true
            }
            guard keep else {
                close(client)
                close(upstream)
                continue
            }
            let idling = Flag()
            Thread.detachNewThread { [self] in pump(from: client, to: upstream, idling: idling, clientSide: true) }
            Thread.detachNewThread { [self] in pump(from: upstream, to: client, idling: idling, clientSide: false) }
        }
    }

    /// Copies line by line; the client's `IDLE` and `DONE` switch the filter on and off.
    private func pump(from source: Int32, to sink: Int32, idling: Flag, clientSide: Bool) {
        var pending: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 64 << 10)
        while true {
            let count = read(source, &chunk, chunk.count)
            guard count > 0 else { break }
            pending += chunk[0..<count]
            var out: [UInt8] = []
            while let end = pending.firstIndex(of: 10) {
                let line = Array(pending[...end])
                pending.removeFirst(end + 1)
                let text = String(decoding: line, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
                if clientSide {
                    if let beforeClientLine, !beforeClientLine(text) {
                        shutdown(sink, Int32(SHUT_RDWR))
                        shutdown(source, Int32(SHUT_RDWR))
                        return
                    }
                    if text.uppercased().hasSuffix(" IDLE") { idling.set(true) }
                    if text.uppercased() == "DONE" { idling.set(false) }
                } else if swallowIdleAnnouncements, idling.value, Self.isAnnouncement(text) {
                    lock.withLock { swallowedCount += 1 }
                    continue
                }
                out += line
            }
            // A literal's bytes without a line end yet (only outside IDLE): pass through as they come. The client's
            // partial lines wait for their end when each line is inspected.
            if !pending.isEmpty, clientSide ? beforeClientLine == nil : !(swallowIdleAnnouncements && idling.value) {
                out += pending
                pending = []
            }
            guard out.isEmpty || write(sink, out, out.count) == out.count else { break }
        }
        shutdown(sink, Int32(SHUT_RDWR))
    }

    static func isAnnouncement(_ line: String) -> Bool {
        let parts = line.split(separator: " ")
        return parts.count == 3 && parts[0] == "*" && Int(parts[1]) != nil && ["EXISTS", "EXPUNGE", "RECENT"].contains(parts[2].uppercased())
    }

    final class Flag: @unchecked Sendable {
        private let lock = NSLock()
        private var stored = false
        var value: Bool { lock.withLock { stored } }
        func set(_ value: Bool) { lock.withLock { stored = value } }
    }
}
