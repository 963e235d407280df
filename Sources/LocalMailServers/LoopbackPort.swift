import Foundation

/// TCP ports on 127.0.0.1, for servers started on loopback.
public enum LoopbackPort {
    /// Nothing listened in time.
    public struct Timeout: Error, CustomStringConvertible {
        public let port: Int
        public let name: String
        public let timeout: Duration
        public var description: String { "\(name) did not start listening on port \(port) within \(timeout)." }
    }

    /// A port the kernel says is free now.
    public static func free() throws(SpawnFailure) -> Int {
        guard let port = bind(0) else { throw SpawnFailure(program: "bind", reason: "no free port on 127.0.0.1") }
        return port
    }

    /// `preferred` if a server could bind it now, else any free port.
    public static func choose(preferring preferred: Int?) throws(SpawnFailure) -> Int {
        if let preferred, preferred > 0, isFree(preferred) { return preferred }
        return try free()
    }

    /// Whether a server could bind the port now (as servers do, with SO_REUSEADDR: TIME_WAIT does not count).
    public static func isFree(_ port: Int) -> Bool { bind(port) != nil }

    /// Whether something accepts connections on the port now.
    public static func accepts(_ port: Int) -> Bool {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var address = loopback(port)
        let connected = withUnsafePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        return connected == 0
    }

    /// Waits until something accepts connections on the port.
    public static func waitUntilListening(_ port: Int, name: String, timeout: Duration = .seconds(20)) async throws {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if accepts(port) { return }
            try await Task.sleep(for: .milliseconds(100))
        }
        throw Timeout(port: port, name: name, timeout: timeout)
    }

    private static func loopback(_ port: Int) -> sockaddr_in {
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = UInt16(port).bigEndian
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        return address
    }

    /// Binds the port on 127.0.0.1 and releases it; returns the port bound, nil when it is taken.
    private static func bind(_ port: Int) -> Int? {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var on: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, socklen_t(MemoryLayout<Int32>.size))
        var address = loopback(port)
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.bind(fd, $0, length) }
        }
        guard bound == 0 else { return nil }
        let named = withUnsafeMutablePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        guard named == 0 else { return nil }
        return Int(UInt16(bigEndian: address.sin_port))
    }
}
