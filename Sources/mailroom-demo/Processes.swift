import Foundation

/// Why a step of the demo could not be done, in words for the person at the terminal.
struct DemoFailure: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// A program the demo started and must stop: it is known by its process id, so Ctrl-C stops exactly
/// what the demo started and nothing else.
struct ChildProcess: Sendable {
    let name: String
    let pid: pid_t
    let logFile: String

    /// Starts `arguments` with standard output and error appended to `logFile`.
    ///
    /// The child gets a clean signal state: the demo itself ignores and blocks signals to handle Ctrl-C,
    /// and a child inheriting that would not stop on SIGTERM, or (for Dovecot's master) never reap its
    /// children.
    static func spawn(
        _ name: String, _ arguments: [String], logFile: String, environment: [String: String] = [:], stdin: String = "/dev/null"
    ) throws(DemoFailure) -> ChildProcess {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, stdin, O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, logFile, O_WRONLY | O_CREAT | O_APPEND, 0o600)
        posix_spawn_file_actions_adddup2(&actions, 1, 2)
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var empty = sigset_t()
        sigemptyset(&empty)
        posix_spawnattr_setsigmask(&attributes, &empty)
        var all = sigset_t()
        sigemptyset(&all)
        for signal in Int32(1)..<Int32(32) where signal != SIGKILL && signal != SIGSTOP { sigaddset(&all, signal) }
        posix_spawnattr_setsigdefault(&attributes, &all)
        // Its own process group: Ctrl-C reaches the demo, which then stops the child in the right order.
        posix_spawnattr_setpgroup(&attributes, 0)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETPGROUP))
        let env = ProcessInfo.processInfo.environment.merging(environment) { $1 }.map { "\($0.key)=\($0.value)" }
        let argv = arguments.map { strdup($0) } + [nil]
        let envp = env.map { strdup($0) } + [nil]
        defer {
            argv.forEach { free($0) }
            envp.forEach { free($0) }
        }
        var pid: pid_t = 0
        let status = posix_spawnp(&pid, arguments[0], &actions, &attributes, argv, envp)
        guard status == 0 else {
            throw DemoFailure("Could not start \(name) (\(arguments[0])): \(String(cString: strerror(status))).")
        }
        return ChildProcess(name: name, pid: pid, logFile: logFile)
    }

    /// Runs a program to its end and returns what it printed; a failure carries its output.
    @discardableResult
    static func run(_ arguments: [String], input: String? = nil, in folder: String) throws(DemoFailure) -> String {
        let log = "\(folder)/command-\(UUID().uuidString).log"
        let stdin = "\(folder)/command-\(UUID().uuidString).in"
        defer {
            try? FileManager.default.removeItem(atPath: log)
            try? FileManager.default.removeItem(atPath: stdin)
        }
        guard FileManager.default.createFile(atPath: stdin, contents: Data((input ?? "").utf8), attributes: [.posixPermissions: 0o600]) else {
            throw DemoFailure("Could not write to \(folder).")
        }
        let child = try spawn(arguments[0], arguments, logFile: log, stdin: stdin)
        let status = child.waitForExit()
        let output = (try? String(contentsOfFile: log, encoding: .utf8)) ?? ""
        guard status == 0 else {
            throw DemoFailure("`\(arguments.joined(separator: " "))` failed (exit \(status)):\n\(output)")
        }
        return output
    }

    /// Whether the process still exists (it may be a zombie of someone else's; ours are reaped).
    var isRunning: Bool {
        var status: Int32 = 0
        let reaped = waitpid(pid, &status, WNOHANG)
        if reaped == pid { return false }
        return kill(pid, 0) == 0
    }

    /// Blocks until the child ends; returns its exit code (128 + signal when killed).
    func waitForExit() -> Int32 {
        var status: Int32 = 0
        while waitpid(pid, &status, 0) == -1 && errno == EINTR {}
        return (status & 0x7f) == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f)
    }

    /// Asks the child to stop (SIGTERM), waits up to `grace`, then kills it.
    func stop(grace: Duration = .seconds(10)) async {
        await Self.stop(pid: pid, grace: grace)
    }

    /// SIGTERM, wait for the process to go, SIGKILL after `grace`. Works for processes that are not
    /// our children too (Dovecot's master daemonizes).
    static func stop(pid: pid_t, grace: Duration) async {
        guard pid > 0 else { return }
        kill(pid, SIGTERM)
        let deadline = ContinuousClock.now + grace
        while ContinuousClock.now < deadline {
            var status: Int32 = 0
            if waitpid(pid, &status, WNOHANG) == pid || kill(pid, 0) != 0 { return }
            try? await Task.sleep(for: .milliseconds(100))
        }
        kill(pid, SIGKILL)
        var status: Int32 = 0
        _ = waitpid(pid, &status, WNOHANG)
    }
}

/// Loopback TCP ports.
enum LoopbackPort {
    /// `preferred` if nothing listens there, else a port the kernel says is free.
    static func choose(preferring preferred: Int?) throws(DemoFailure) -> Int {
        if let preferred, preferred > 0, isFree(preferred) { return preferred }
        return try free()
    }

    static func isFree(_ port: Int) -> Bool {
        (try? bind(port)) != nil
    }

    static func free() throws(DemoFailure) -> Int {
        try bind(0)
    }

    /// Binds `port` on 127.0.0.1 and releases it again; returns the port bound.
    private static func bind(_ port: Int) throws(DemoFailure) -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        // As the servers bind: a port whose last connection is in TIME_WAIT is free for them.
        var on: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, socklen_t(MemoryLayout<Int32>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = UInt16(port).bigEndian
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.bind(fd, $0, length) }
        }
        guard bound == 0 else { throw DemoFailure("Port \(port) on 127.0.0.1 is in use.") }
        let named = withUnsafeMutablePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        guard named == 0 else { throw DemoFailure("Could not find a free port on 127.0.0.1.") }
        return Int(UInt16(bigEndian: address.sin_port))
    }

    /// Whether something accepts connections on the port now.
    static func accepts(_ port: Int) -> Bool {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = UInt16(port).bigEndian
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let connected = withUnsafePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        return connected == 0
    }

    /// Waits until something accepts connections on the port.
    static func waitUntilListening(_ port: Int, name: String, timeout: Duration = .seconds(60)) async throws {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if accepts(port) { return }
            try await Task.sleep(for: .milliseconds(100))
        }
        throw DemoFailure("\(name) did not start listening on port \(port) within \(timeout).")
    }
}
