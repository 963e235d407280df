/// A UID sequence set such as `1:5,7,9:*`, as used by `UID FETCH`/`UID STORE`/`UID EXPUNGE`.
public struct UIDSet: Sendable, Hashable, CustomStringConvertible, ExpressibleByArrayLiteral {
    /// The ranges in the order they are sent.
    public var ranges: [UIDRange]

    /// A set made of explicit ranges.
    public init(_ ranges: [UIDRange]) {
        self.ranges = ranges
    }

    /// A single range.
    public init(_ range: UIDRange) {
        self.ranges = [range]
    }

    /// The most compact set for the given UIDs: sorted, de-duplicated, runs collapsed (`1:3,7`).
    /// UID 0 is not a valid UID and is dropped.
    public init(uids: some Sequence<UInt32>) {
        let sorted = Set(uids).filter { $0 > 0 }.sorted()
        var ranges: [UIDRange] = []
        var iterator = sorted.makeIterator()
        if var start = iterator.next() {
            var previous = start
            while let uid = iterator.next() {
                if uid == previous + 1 {
                    previous = uid
                    continue
                }
                ranges.append(UIDRange(start...previous))
                start = uid
                previous = uid
            }
            ranges.append(UIDRange(start...previous))
        }
        self.ranges = ranges
    }

    /// A set of individual UIDs, compacted.
    public init(arrayLiteral elements: UInt32...) {
        self.init(uids: elements)
    }

    /// `1:*`, every message.
    public static let all = UIDSet(UIDRange(from: 1))

    /// `true` if the set names no UIDs (commands with an empty set are not sent).
    public var isEmpty: Bool { self.ranges.isEmpty }

    /// Whether `uid` is in the set (`*` treated as unbounded).
    public func contains(_ uid: UInt32) -> Bool {
        self.ranges.contains { $0.contains(uid) }
    }

    /// The wire form, e.g. `1:5,7,9:*`.
    public var description: String {
        self.ranges.map(\.description).joined(separator: ",")
    }
}
