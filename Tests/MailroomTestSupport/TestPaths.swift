import Foundation

/// Where the test suite finds the repository and the built executables.
public enum TestPaths {
    public static let repoRoot: URL = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()

    /// The `mailroom` executable of this build (scripts/test builds it before the tests run).
    public static var mailroomBinary: String {
        get throws {
            // A copy of the binary, so a test run is not disturbed by a build replacing `.build/debug/mailroom`.
            if let copy = ProcessInfo.processInfo.environment["MAILROOM_TEST_BINARY"], !copy.isEmpty { return copy }
            for configuration in ["debug", "release"] {
                let path = repoRoot.appendingPathComponent(".build/\(configuration)/mailroom").path
                if FileManager.default.isExecutableFile(atPath: path) { return path }
            }
            throw ProcessRunner.Failure(command: "find mailroom", status: -1, output: "build it first: swift build --product mailroom")
        }
    }

    public static func temporaryDirectory(_ name: String) throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("mailroom-tests-\(name)-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }
}
