import Foundation
import LocalMailServers

/// Runs helper programs (openssl, doveadm, initdb, python3) for test fixtures.
enum ProcessRunner {
    struct Failure: Error, CustomStringConvertible {
        var command: String
        var status: Int32
        var output: String
        var description: String { "`\(command)` exited with \(status): \(output)" }
    }

    /// Runs a program to completion and returns its combined output (see ``CleanSpawn``).
    @discardableResult
    static func run(_ arguments: [String], input: String? = nil, environment: [String: String]? = nil, allowFailure: Bool = false) throws -> String {
        let (exitCode, text) = try CleanSpawn.run(arguments, input: input, environment: environment ?? [:])
        if exitCode != 0 && !allowFailure {
            throw Failure(command: arguments.joined(separator: " "), status: exitCode, output: text)
        }
        return text
    }

    /// Starts a long-running program in the background, output appended to `logPath`; returns its pid.
    static func spawn(_ arguments: [String], workdir: String, logPath: String, environment: [String: String] = [:]) throws -> pid_t {
        let quoted = arguments.map { "'" + $0.replacingOccurrences(of: "'", with: "'\\''") + "'" }.joined(separator: " ")
        return try CleanSpawn.spawn(["/bin/bash", "-c", "cd '\(workdir)' && exec \(quoted)"], output: logPath, environment: environment)
    }

    /// Waits for a child to end; returns its exit code (128 + signal when killed).
    static func wait(_ pid: pid_t) -> Int32 { CleanSpawn.wait(pid) }

    /// A TCP port on 127.0.0.1 that was free a moment ago.
    static func freePort() throws -> Int { try LoopbackPort.free() }

    /// Waits until something accepts TCP connections on the port.
    static func waitForPort(_ port: Int, timeout: Duration = .seconds(20)) async throws {
        try await LoopbackPort.waitUntilListening(port, name: "a test server", timeout: timeout)
    }
}

/// Where the test suite finds the repository and the built executables.
enum TestPaths {
    static let repoRoot: URL = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent()

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
