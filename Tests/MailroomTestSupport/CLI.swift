import Foundation

/// Runs the `mailroom` CLI and returns what it printed on standard output.
public enum CLI {
    public static func run(_ arguments: [String], input: String? = nil, workdir: URL, allowFailure: Bool = false) throws -> String {
        let binary = try TestPaths.mailroomBinary
        let errFile = FileManager.default.temporaryDirectory.appendingPathComponent("mailroom-cli-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: errFile) }
        // stdout and stderr kept apart, so `--json` output can be parsed; files, so neither can fill up and block.
        let quoted = ([binary] + arguments).map { "'" + $0.replacingOccurrences(of: "'", with: "'\\''") + "'" }.joined(separator: " ")
        do {
            let stdout = try ProcessRunner.run(["bash", "-c", "cd '\(workdir.path)' && exec \(quoted) 2>'\(errFile.path)'"], input: input)
            return stdout
        } catch let failure as ProcessRunner.Failure {
            let stderr = (try? String(contentsOf: errFile, encoding: .utf8)) ?? ""
            if allowFailure { return failure.output + stderr }
            throw ProcessRunner.Failure(command: "mailroom " + arguments.joined(separator: " "), status: failure.status, output: failure.output + stderr)
        }
    }
}
