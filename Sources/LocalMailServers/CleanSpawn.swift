import Foundation

/// Why a program could not be started.
public struct SpawnFailure: Error, CustomStringConvertible {
    public let program: String
    public let reason: String
    public var description: String { "cannot start \(program): \(reason)" }
}

/// Starts programs with a clean signal state, for the demo and the tests that run real servers.
///
/// A process that handles signals itself (the demo, the test runner) blocks or ignores some, and a child
/// inherits both: a `mailroom serve` that ignores SIGTERM never stops, and a Dovecot or Postfix master that
/// never sees SIGCHLD never reaps its children and runs into its process limit. posix_spawn and waitpid
/// rather than Foundation's Process, which lost the exit of `runuser pg_ctl start` (the child stayed a
/// zombie) and leaves output pipes open in daemons.
public enum CleanSpawn {
    /// Starts `arguments` (looked up in `PATH`) with standard input from the file `stdin` and standard output
    /// and error into the file `output`; returns its process id.
    /// - Parameter ownProcessGroup: put the child in a process group of its own, so a Ctrl-C at the terminal
    ///   reaches only the parent, which then stops the child in its own order.
    /// glibc's `posix_spawn_file_actions_addclosefrom_np` (2.34+), which Swift's Glibc module does not declare;
    /// looked up by name, and skipped where the C library lacks it.
    private static func closeFrom3(_ actions: inout posix_spawn_file_actions_t) {
        typealias CloseFrom = @convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>, Int32) -> Int32
        guard let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "posix_spawn_file_actions_addclosefrom_np") else { return }
        _ = unsafeBitCast(symbol, to: CloseFrom.self)(&actions, 3)
    }

    public static func spawn(
        _ arguments: [String], stdin: String = "/dev/null", output: String, append: Bool = true,
        environment: [String: String] = [:], ownProcessGroup: Bool = false
    ) throws(SpawnFailure) -> pid_t {
        guard let program = arguments.first else { throw SpawnFailure(program: "(nothing)", reason: "no program named") }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, stdin, O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, output, O_WRONLY | O_CREAT | (append ? O_APPEND : O_TRUNC), 0o600)
        posix_spawn_file_actions_adddup2(&actions, 1, 2)
        // Nothing else: NIO accepts sockets without CLOEXEC on Linux, so a child would otherwise hold a parent's
        // client connections open until it exits.
        closeFrom3(&actions)
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
        var flags = POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF
        if ownProcessGroup {
            posix_spawnattr_setpgroup(&attributes, 0)
            flags |= POSIX_SPAWN_SETPGROUP
        }
        posix_spawnattr_setflags(&attributes, Int16(flags))
        let env = ProcessInfo.processInfo.environment.merging(environment) { $1 }.map { "\($0.key)=\($0.value)" }
        let argv = arguments.map { strdup($0) } + [nil]
        let envp = env.map { strdup($0) } + [nil]
        defer {
            argv.forEach { free($0) }
            envp.forEach { free($0) }
        }
        var pid: pid_t = 0
        let status = posix_spawnp(&pid, program, &actions, &attributes, argv, envp)
        guard status == 0 else { throw SpawnFailure(program: program, reason: String(cString: strerror(status))) }
        return pid
    }

    /// Runs a program to its end; returns its exit code and what it wrote to standard output and error.
    /// Output goes through a file, so a daemon that keeps it open cannot block the caller.
    public static func run(
        _ arguments: [String], input: String? = nil, environment: [String: String] = [:]
    ) throws(SpawnFailure) -> (status: Int32, output: String) {
        let dir = FileManager.default.temporaryDirectory
        let outputPath = dir.appendingPathComponent("mailroom-run-\(UUID().uuidString)").path
        let inputPath = dir.appendingPathComponent("mailroom-in-\(UUID().uuidString)").path
        guard FileManager.default.createFile(atPath: inputPath, contents: Data((input ?? "").utf8), attributes: [.posixPermissions: 0o600]) else {
            throw SpawnFailure(program: arguments.first ?? "(nothing)", reason: "cannot write \(inputPath)")
        }
        defer {
            unlink(outputPath)
            unlink(inputPath)
        }
        let pid = try spawn(arguments, stdin: inputPath, output: outputPath, append: false, environment: environment)
        let status = wait(pid)
        return (status, String(decoding: FileManager.default.contents(atPath: outputPath) ?? Data(), as: UTF8.self))
    }

    /// Waits for a child to end; returns its exit code (128 + signal when killed).
    public static func wait(_ pid: pid_t) -> Int32 {
        var status: Int32 = 0
        while waitpid(pid, &status, 0) == -1 && errno == EINTR {}
        return (status & 0x7f) == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f)
    }
}
