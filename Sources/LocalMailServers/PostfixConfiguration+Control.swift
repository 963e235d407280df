import Foundation

/// Starting and stopping the Postfix a ``PostfixConfiguration`` describes (as root: see there).
extension PostfixConfiguration {
    static let postfix = "/usr/sbin/postfix"

    /// Creates the folders under `root`, writes the files, runs `postfix check` and `postfix start`, and returns
    /// once both listeners accept connections. A failure carries what Postfix logged.
    public func start() async throws {
        guard FileManager.default.isExecutableFile(atPath: Self.postfix) else {
            throw SpawnFailure(program: "postfix", reason: "Postfix is not installed: DEBIAN_FRONTEND=noninteractive apt-get install -y postfix")
        }
        let fm = FileManager.default
        for sub in ["etc", "queue", "data", "log"] {
            try fm.createDirectory(atPath: "\(root)/\(sub)", withIntermediateDirectories: true)
        }
        try fm.setAttributes([.posixPermissions: 0o755], ofItemAtPath: root)
        try Self.check(["chown", "postfix", "\(root)/data"])
        try mainText.write(toFile: "\(configDirectory)/main.cf", atomically: true, encoding: .utf8)
        try recipientAccessText.write(toFile: "\(configDirectory)/recipient_access", atomically: true, encoding: .utf8)
        try masterText.write(toFile: "\(configDirectory)/master.cf", atomically: true, encoding: .utf8)
        do {
            try Self.check([Self.postfix, "-c", configDirectory, "check"])
            try Self.check([Self.postfix, "-c", configDirectory, "start"])
        } catch {
            throw SpawnFailure(program: "postfix -c \(configDirectory) start", reason: "\(error)\n\(log())")
        }
        try await waitUntilListening()
    }

    /// Starts it again after ``stop()``, with its queue; returns once both listeners accept connections.
    public func restart() async throws {
        try Self.check([Self.postfix, "-c", configDirectory, "start"])
        try await waitUntilListening()
    }

    /// Stops it (an outage, as far as a client can tell).
    public func stop() throws(SpawnFailure) {
        try Self.check([Self.postfix, "-c", configDirectory, "stop"])
    }

    /// What Postfix logged so far (smtpd's view of each session, SASL failures, TLS errors).
    public func log() -> String {
        (try? String(contentsOfFile: logFile, encoding: .utf8)) ?? ""
    }

    private func waitUntilListening() async throws {
        try await LoopbackPort.waitUntilListening(submissionPort, name: "Postfix submission")
        try await LoopbackPort.waitUntilListening(submissionsPort, name: "Postfix submissions")
    }

    private static func check(_ arguments: [String]) throws(SpawnFailure) {
        let (status, output) = try CleanSpawn.run(arguments)
        guard status == 0 else { throw SpawnFailure(program: arguments.joined(separator: " "), reason: "exit \(status): \(output)") }
    }
}
