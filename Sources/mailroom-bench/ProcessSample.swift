import Foundation

/// What Linux says about a process: resident memory (`VmRSS` in /proc/PID/status) and CPU time used
/// (`utime + stime` in /proc/PID/stat), read at one moment.
struct ProcessSample {
    let residentKiB: Int
    /// User plus system CPU seconds since the process started.
    let cpuSeconds: Double
    let taken: UInt64

    init(pid: pid_t) throws {
        taken = Monotonic.now()
        residentKiB = try Self.statusKiB("VmRSS", pid: pid)
        // Fields after the command name, which may hold spaces and ends at the last ')': state is field 3,
        // utime and stime fields 14 and 15.
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
              let close = stat.lastIndex(of: ")")
        else { throw BenchFailure("cannot read /proc/\(pid)/stat") }
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        guard fields.count > 12, let user = Double(fields[11]), let system = Double(fields[12]) else {
            throw BenchFailure("cannot read CPU times of process \(pid)")
        }
        cpuSeconds = (user + system) / Double(sysconf(Int32(_SC_CLK_TCK)))
    }

    /// A `kB` field of /proc/PID/status (`VmRSS`, `VmHWM`, …).
    static func statusKiB(_ field: String, pid: pid_t = getpid()) throws -> Int {
        guard let status = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8),
              let line = status.split(separator: "\n").first(where: { $0.hasPrefix(field + ":") }),
              let kib = line.split(separator: " ", omittingEmptySubsequences: true).dropFirst().first.flatMap({ Int($0) })
        else { throw BenchFailure("cannot read \(field) of process \(pid)") }
        return kib
    }

    /// Percent of one core used between `earlier` and this sample.
    func corePercent(since earlier: ProcessSample) -> Double {
        let wall = Monotonic.milliseconds(from: earlier.taken, to: taken) / 1000
        return wall > 0 ? (cpuSeconds - earlier.cpuSeconds) / wall * 100 : .nan
    }
}

/// CPU seconds the whole machine has spent busy (user, nice, system, irq, softirq and steal in /proc/stat): what a
/// contender costs including the Dovecot serving it and any child process, and far steadier than wall time on a
/// shared virtual machine.
enum MachineCPU {
    static func busySeconds() throws -> Double {
        guard let stat = try? String(contentsOfFile: "/proc/stat", encoding: .utf8),
              let line = stat.split(separator: "\n").first(where: { $0.hasPrefix("cpu ") })
        else { throw BenchFailure("cannot read /proc/stat") }
        // cpu user nice system idle iowait irq softirq steal …
        let ticks = line.split(separator: " ").dropFirst().compactMap { Double($0) }
        guard ticks.count >= 8 else { throw BenchFailure("cannot read the CPU line of /proc/stat") }
        let busy = ticks[0] + ticks[1] + ticks[2] + ticks[5] + ticks[6] + ticks[7]
        return busy / Double(sysconf(Int32(_SC_CLK_TCK)))
    }
}
