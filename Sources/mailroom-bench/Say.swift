import Foundation

/// Writes a line to standard output at once: progress shows as it happens even when the output goes to a file
/// (Swift's `print` is fully buffered then, and shows nothing until the run ends).
func say(_ line: String) {
    FileHandle.standardOutput.write(Data((line + "\n").utf8))
}
