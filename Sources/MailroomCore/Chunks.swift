extension Array {
    /// The array in consecutive pieces of at most `size` elements (at least one each).
    public func chunks(of size: Int) -> [[Element]] {
        let size = Swift.max(1, size)
        return stride(from: 0, to: count, by: size).map { Array(self[$0..<Swift.min($0 + size, count)]) }
    }
}
