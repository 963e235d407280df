import Foundation
import LocalMailServers

/// Runs helper programs (openssl, doveadm, initdb, python3) for test fixtures.
public enum ProcessRunner {
    public struct Failure: Error, CustomStringConvertible {
        public var command: String
        public var status: Int32
        public var output: String
        public var description: String { "`\(command)` exited with \(status): \(output)" }

        public init(command: String, status: Int32, output: String) {
            self.command = command
            self.status = status
            self.output = output
        }
    }

    /// Runs a program to completion and returns its combined output (see ``CleanSpawn``).
    @discardableResult
    public static func run(_ arguments: [String], input: String? = nil, environment: [String: String]? = nil, allowFailure: Bool = false) throws -> String {
        let (exitCode, text) = try CleanSpawn.run(arguments, input: input, environment: environment ?? [:])
        if exitCode != 0 && !allowFailure {
            throw Failure(command: arguments.joined(separator: " "), status: exitCode, output: text)
        }
        return text
    }

    /// Starts a long-running program in the background, output appended to `logPath`; returns its pid.
    public static func spawn(_ arguments: [String], workdir: String, logPath: String, environment: [String: String] = [:]) throws -> pid_t {
        let quoted = arguments.map { "'" + $0.replacingOccurrences(of: "'", with: "'\\''") + "'" }.joined(separator: " ")
        return try CleanSpawn.spawn(["/bin/bash", "-c", "cd '\(workdir)' && exec \(quoted)"], output: logPath, environment: environment)
    }

    /// Waits for a child to end; returns its exit code (128 + signal when killed).
    public static func wait(_ pid: pid_t) -> Int32 { CleanSpawn.wait(pid) }

    /// A TCP port on 127.0.0.1 that was free a moment ago.
    public static func freePort() throws -> Int { try LoopbackPort.free() }

    /// Waits until something accepts TCP connections on the port.
    public static func waitForPort(_ port: Int, timeout: Duration = .seconds(20)) async throws {
        try await LoopbackPort.waitUntilListening(port, name: "a test server", timeout: timeout)
    }
}
