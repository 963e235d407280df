/// Latency samples in milliseconds and their nearest-rank percentiles.
struct Percentiles {
    let sorted: [Double]

    init(_ samples: [Double]) { sorted = samples.sorted() }

    /// The nearest-rank percentile: the smallest sample with at least `p`% of the samples at or below it.
    func callAsFunction(_ p: Double) -> Double {
        guard !sorted.isEmpty else { return .nan }
        let rank = Int((p / 100 * Double(sorted.count)).rounded(.up))
        return sorted[min(max(rank, 1), sorted.count) - 1]
    }

    var median: Double { self(50) }
}

/// A sample list's median (the upper one of an even count), for per-round figures.
func median(_ values: [Double]) -> Double { Percentiles(values).median }
