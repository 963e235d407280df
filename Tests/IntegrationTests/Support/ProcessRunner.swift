import Foundation

/// Runs helper programs (openssl, doveadm, initdb, python3) for test fixtures.
enum ProcessRunner {
    struct Failure: Error, CustomStringConvertible {
        var command: String
        var status: Int32
        var output: String
        var description: String { "`\(command)` exited with \(status): \(output)" }
    }

    /// Runs a program to completion and returns its combined output.
    ///
    /// posix_spawn and waitpid rather than Foundation's Process: Process lost the exit of `runuser pg_ctl start`
    /// here (the child stayed a zombie and the test hung), and daemons that inherit an output pipe keep it open.
    @discardableResult
    static func run(_ arguments: [String], input: String? = nil, environment: [String: String]? = nil, allowFailure: Bool = false) throws -> String {
        let dir = FileManager.default.temporaryDirectory
        let outputPath = dir.appendingPathComponent("mailroom-run-\(UUID().uuidString)").path
        let inputPath = dir.appendingPathComponent("mailroom-in-\(UUID().uuidString)").path
        _ = FileManager.default.createFile(atPath: inputPath, contents: Data((input ?? "").utf8))
        defer {
            unlink(outputPath)
            unlink(inputPath)
        }
        let pid = try start(arguments, stdin: inputPath, stdout: outputPath, append: false, environment: environment ?? [:])
        let exitCode = wait(pid)
        let text = String(decoding: FileManager.default.contents(atPath: outputPath) ?? Data(), as: UTF8.self)
        if exitCode != 0 && !allowFailure {
            throw Failure(command: arguments.joined(separator: " "), status: exitCode, output: text)
        }
        return text
    }

    /// Starts a long-running program in the background, output appended to `logPath`; returns its pid.
    static func spawn(_ arguments: [String], workdir: String, logPath: String, environment: [String: String] = [:]) throws -> pid_t {
        let quoted = arguments.map { "'" + $0.replacingOccurrences(of: "'", with: "'\\''") + "'" }.joined(separator: " ")
        return try start(["/bin/bash", "-c", "cd '\(workdir)' && exec \(quoted)"], stdin: "/dev/null", stdout: logPath, append: true, environment: environment)
    }

    /// posix_spawnp with stdin from a file and stdout and stderr into one file.
    private static func start(_ arguments: [String], stdin: String, stdout: String, append: Bool, environment: [String: String]) throws -> pid_t {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, stdin, O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, stdout, O_WRONLY | O_CREAT | (append ? O_APPEND : O_TRUNC), 0o600)
        posix_spawn_file_actions_adddup2(&actions, 1, 2)
        let env = ProcessInfo.processInfo.environment.merging(environment) { $1 }.map { "\($0.key)=\($0.value)" }
        let argv = arguments.map { strdup($0) } + [nil]
        let envp = env.map { strdup($0) } + [nil]
        defer {
            argv.forEach { free($0) }
            envp.forEach { free($0) }
        }
        // A clean signal state for the child. Threads of this test process block signals (SIGCHLD among them) and
        // ignore SIGPIPE, and a spawned process inherits both: a Dovecot or Postfix master that never sees
        // SIGCHLD never reaps its children, and runs into its process limit after a few hundred logins.
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
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))
        var pid: pid_t = 0
        let spawned = posix_spawnp(&pid, arguments[0], &actions, &attributes, argv, envp)
        guard spawned == 0 else {
            throw Failure(command: arguments.joined(separator: " "), status: spawned, output: "cannot start: \(String(cString: strerror(spawned)))")
        }
        return pid
    }

    /// Waits for a child to end; returns its exit code (128 + signal when killed).
    static func wait(_ pid: pid_t) -> Int32 {
        var status: Int32 = 0
        while waitpid(pid, &status, 0) == -1 && errno == EINTR {}
        return (status & 0x7f) == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f)
    }

    /// A TCP port on 127.0.0.1 that was free a moment ago.
    static func freePort() throws -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = 0
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) }
        }
        guard bound == 0 else { throw Failure(command: "bind", status: errno, output: "cannot bind a free port") }
        let named = withUnsafeMutablePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        guard named == 0 else { throw Failure(command: "getsockname", status: errno, output: "") }
        return Int(UInt16(bigEndian: address.sin_port))
    }

    /// Waits until something accepts TCP connections on the port.
    static func waitForPort(_ port: Int, timeout: Duration = .seconds(20)) async throws {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            var address = sockaddr_in()
            address.sin_family = sa_family_t(AF_INET)
            address.sin_port = UInt16(port).bigEndian
            address.sin_addr.s_addr = inet_addr("127.0.0.1")
            let connected = withUnsafePointer(to: &address) { pointer in
                pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
            }
            close(fd)
            if connected == 0 { return }
            try await Task.sleep(for: .milliseconds(100))
        }
        throw Failure(command: "wait for port \(port)", status: -1, output: "nothing listened within \(timeout)")
    }
}

/// Where the test suite finds the repository, the shared harness and the built executables.
enum TestPaths {
    static let repoRoot: URL = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent()

    static var shared: URL {
        if let path = ProcessInfo.processInfo.environment["MAILROOM_SHARED_DIR"] { return URL(fileURLWithPath: path) }
        return repoRoot.deletingLastPathComponent().appendingPathComponent("shared")
    }

    /// The `mailroom` executable of this build (scripts/test builds it before the tests run).
    static var mailroomBinary: String {
        get throws {
            for configuration in ["debug", "release"] {
                let path = repoRoot.appendingPathComponent(".build/\(configuration)/mailroom").path
                if FileManager.default.isExecutableFile(atPath: path) { return path }
            }
            throw ProcessRunner.Failure(command: "find mailroom", status: -1, output: "build it first: swift build --product mailroom")
        }
    }

    static func temporaryDirectory(_ name: String) throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("mailroom-tests-\(name)-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }
}
