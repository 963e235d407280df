import Foundation
import LocalMailServers

/// Why a step of the demo could not be done, in words for the person at the terminal.
struct DemoFailure: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// A program the demo started and must stop: it is known by its process id, so Ctrl-C stops exactly
/// what the demo started and nothing else.
struct ChildProcess: Sendable {
    let name: String
    let pid: pid_t
    let logFile: String

    /// Starts `arguments` with standard output and error appended to `logFile`, in a process group of its
    /// own: Ctrl-C reaches the demo, which then stops the child in the right order.
    static func spawn(_ name: String, _ arguments: [String], logFile: String, environment: [String: String] = [:]) throws(DemoFailure) -> ChildProcess {
        do {
            let pid = try CleanSpawn.spawn(arguments, output: logFile, environment: environment, ownProcessGroup: true)
            return ChildProcess(name: name, pid: pid, logFile: logFile)
        } catch {
            throw DemoFailure("Could not start \(name): \(error)")
        }
    }

    /// Runs a program to its end and returns what it printed; a failure carries its output.
    @discardableResult
    static func run(_ arguments: [String], input: String? = nil, environment: [String: String] = [:]) throws(DemoFailure) -> String {
        let result: (status: Int32, output: String)
        do {
            result = try CleanSpawn.run(arguments, input: input, environment: environment)
        } catch {
            throw DemoFailure("\(error)")
        }
        guard result.status == 0 else {
            throw DemoFailure("`\(arguments.joined(separator: " "))` failed (exit \(result.status)):\n\(result.output)")
        }
        return result.output
    }

    /// Whether the process still runs (reaping it if it ended).
    var isRunning: Bool {
        var status: Int32 = 0
        if waitpid(pid, &status, WNOHANG) == pid { return false }
        return kill(pid, 0) == 0
    }

    /// Asks the child to stop (SIGTERM), waits up to `grace`, then kills it.
    func stop(grace: Duration = .seconds(10)) async {
        await Self.stop(pid: pid, grace: grace)
    }

    /// SIGTERM, wait for the process to go, SIGKILL after `grace`. Works for processes that are not
    /// our children too (Dovecot's master daemonizes).
    static func stop(pid: pid_t, grace: Duration) async {
        guard pid > 0 else { return }
        kill(pid, SIGTERM)
        let deadline = ContinuousClock.now + grace
        while ContinuousClock.now < deadline {
            var status: Int32 = 0
            if waitpid(pid, &status, WNOHANG) == pid || kill(pid, 0) != 0 { return }
            try? await Task.sleep(for: .milliseconds(100))
        }
        kill(pid, SIGKILL)
        var status: Int32 = 0
        _ = waitpid(pid, &status, WNOHANG)
    }
}
