// ParetoFront: the non-dominated (accuracy, expected MACs) points of a set of evaluations.

/// The non-dominated points: none has another point with accuracy ≥ and MACs ≤, one of them
/// strictly. Returns indices into `points`, by increasing MACs (equal points keep the first).
public func paretoFront(_ points: [(accuracy: Double, macs: Double)]) -> [Int] {
    let order = points.indices.sorted {
        let a = points[$0], b = points[$1]
        if a.macs != b.macs { return a.macs < b.macs }
        if a.accuracy != b.accuracy { return a.accuracy > b.accuracy }
        return $0 < $1
    }
    var front: [Int] = []
    var bestAccuracy = -Double.infinity
    for i in order where points[i].accuracy > bestAccuracy {
        // Sorted by MACs, then accuracy descending: a point is on the front iff it beats the
        // accuracy of every lighter (or equally light, listed earlier) point.
        front.append(i)
        bestAccuracy = points[i].accuracy
    }
    return front
}
