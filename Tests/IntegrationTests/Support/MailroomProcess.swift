import Foundation

/// `mailroom serve` as a real child process, for tests that kill it, restart it and talk to it over HTTP.
final class MailroomProcess: @unchecked Sendable {
    let process = Process()
    let port: Int
    let logFile: URL

    init(database: String, workdir: URL, caFile: String, pollInterval: Double = 1, extraEnvironment: [String: String] = [:]) throws {
        port = try ProcessRunner.freePort()
        logFile = workdir.appendingPathComponent("serve-\(port).log")
        FileManager.default.createFile(atPath: logFile.path, contents: nil)
        process.executableURL = URL(fileURLWithPath: try TestPaths.mailroomBinary)
        process.arguments = ["serve", "--database", database, "--port", String(port), "--poll-interval", String(pollInterval), "--ca-file", caFile]
        process.currentDirectoryURL = workdir
        process.environment = ProcessInfo.processInfo.environment.merging(extraEnvironment) { $1 }
        let handle = try FileHandle(forWritingTo: logFile)
        process.standardOutput = handle
        process.standardError = handle
        process.standardInput = FileHandle.nullDevice
        try process.run()
        let pid = process.processIdentifier
        TestCleanup.register { kill(pid, SIGKILL) }
    }

    func waitUntilListening() async throws {
        try await ProcessRunner.waitForPort(port, timeout: .seconds(60))
    }

    func sigkill() {
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
    }

    /// SIGTERM and wait: the graceful path.
    func terminate() -> Int32 {
        kill(process.processIdentifier, SIGTERM)
        process.waitUntilExit()
        return process.terminationStatus
    }

    var log: String { (try? String(contentsOf: logFile, encoding: .utf8)) ?? "" }

    func get(_ path: String) async throws -> (status: Int, body: String) {
        try await HTTP.request("GET", url: "http://127.0.0.1:\(port)\(path)")
    }

    func post(_ path: String, json: String) async throws -> (status: Int, body: String) {
        try await HTTP.request("POST", url: "http://127.0.0.1:\(port)\(path)", body: json)
    }
}

/// A tiny HTTP client over URLSession-free curl, to keep FoundationNetworking out of the test target.
enum HTTP {
    static func request(_ method: String, url: String, body: String? = nil) async throws -> (status: Int, body: String) {
        var arguments = ["curl", "-sS", "-X", method, "-w", "\n%{http_code}", "--max-time", "20"]
        if let body {
            arguments += ["-H", "Content-Type: application/json", "--data-binary", "@-"]
            _ = body
        }
        arguments.append(url)
        let output = try ProcessRunner.run(arguments, input: body)
        guard let newline = output.lastIndex(of: "\n"), let status = Int(output[output.index(after: newline)...]) else {
            return (0, output)
        }
        return (status, String(output[..<newline]))
    }
}

/// Runs the `mailroom` CLI and returns what it printed on standard output.
enum CLI {
    static func run(_ arguments: [String], input: String? = nil, workdir: URL, allowFailure: Bool = false) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: try TestPaths.mailroomBinary)
        process.arguments = arguments
        process.currentDirectoryURL = workdir
        let out = Pipe()
        let err = Pipe()
        let inPipe = Pipe()
        process.standardOutput = out
        process.standardError = err
        process.standardInput = inPipe
        try process.run()
        if let input { inPipe.fileHandleForWriting.write(Data(input.utf8)) }
        try? inPipe.fileHandleForWriting.close()
        let stdout = out.fileHandleForReading.readDataToEndOfFile()
        let stderr = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        let text = String(decoding: stdout, as: UTF8.self)
        if process.terminationStatus != 0 && !allowFailure {
            throw ProcessRunner.Failure(command: "mailroom " + arguments.joined(separator: " "), status: process.terminationStatus,
                                        output: text + String(decoding: stderr, as: UTF8.self))
        }
        return allowFailure ? text + String(decoding: stderr, as: UTF8.self) : text
    }
}
