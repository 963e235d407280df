import Foundation

/// CLOCK_MONOTONIC in nanoseconds: the clock the Python peer reads too (`time.CLOCK_MONOTONIC`), so times taken
/// in the two processes subtract. (Swift's `ContinuousClock` reads CLOCK_BOOTTIME on Linux, a different clock.)
enum Monotonic {
    static func now() -> UInt64 {
        var time = timespec()
        clock_gettime(CLOCK_MONOTONIC, &time)
        return UInt64(time.tv_sec) * 1_000_000_000 + UInt64(time.tv_nsec)
    }

    /// Milliseconds from `start` to `end`.
    static func milliseconds(from start: UInt64, to end: UInt64) -> Double {
        Double(Int64(bitPattern: end &- start)) / 1e6
    }
}
