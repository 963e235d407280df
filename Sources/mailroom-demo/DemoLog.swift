import Foundation

/// What the demo tells the person at the terminal: one line per event, with the time.
struct DemoLog: Sendable {
    let quiet: Bool

    /// Writes at once, unbuffered, so a terminal or a log file sees each line as it happens.
    static func write(_ text: String) {
        FileHandle.standardOutput.write(Data(text.utf8))
    }

    func say(_ line: String) {
        guard !quiet else { return }
        let time = Date.now.formatted(.iso8601.time(includingFractionalSeconds: false))
        Self.write("[\(time)] \(line)\n")
    }
}
