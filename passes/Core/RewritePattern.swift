// RewritePattern: local graph rewrites and the one greedy driver that applies them to a fixed point.

import IR

/// A local rewrite rooted at one node: it looks at the node (and its neighbours) and, when it
/// matches, changes the graph through the mutation API and returns true. Returning false must leave
/// the graph untouched.
public protocol RewritePattern {
    /// A name for debugging and error messages.
    var name: String { get }
    /// Tries to rewrite around the node at `index`.
    func matchAndRewrite(nodeAt index: Int, in graph: inout Graph) throws -> Bool
}

/// Applies `patterns` until none matches anywhere (a fixed point), sweeping the nodes in order
/// and trying the patterns in the order given. Returns how many rewrites were applied.
///
/// Every pattern-style pass runs under this one driver, so that they all get the same termination
/// guarantee: a pattern set that keeps rewriting past `maxSweeps` full sweeps is an error.
@discardableResult
public func applyPatternsGreedily(_ patterns: [any RewritePattern], to graph: inout Graph,
                                  maxSweeps: Int = 100) throws -> Int {
    var rewrites = 0
    for _ in 0..<maxSweeps {
        // Removals are deferred for the sweep (compacted once at its end), so a sweep that removes
        // many nodes stays linear in the graph's size; removed nodes are skipped.
        let changed = try graph.withDeferredNodeRemoval { graph in
            var changed = false
            var index = 0
            // A pattern that fires on the same node forever would never finish a sweep; cut the
            // sweep short so that the sweep limit catches it.
            var budget = 4 * graph.nodes.count + 64
            while index < graph.nodes.count, budget > 0 {
                if graph.isRemoved(nodeAt: index) {
                    index += 1
                    continue
                }
                var fired = false
                for pattern in patterns where try pattern.matchAndRewrite(nodeAt: index, in: &graph) {
                    rewrites += 1
                    budget -= 1
                    fired = true
                    changed = true
                    break
                }
                // After a rewrite, look at the same position again (removals leave tombstones, so
                // it is still in range): the node there may have changed, and nodes before it are
                // revisited by the next sweep.
                if !fired { index += 1 }
            }
            return changed
        }
        if !changed { return rewrites }
    }
    throw PassError("patterns " + patterns.map(\.name).joined(separator: ", ")
                    + " did not reach a fixed point in \(maxSweeps) sweeps")
}

/// A pass made of rewrite patterns, run by `applyPatternsGreedily`.
public protocol PatternPass: Pass {
    /// The patterns, in the order the driver tries them.
    var patterns: [any RewritePattern] { get }
}

extension PatternPass {
    public func run(on graph: inout Graph) throws {
        try applyPatternsGreedily(patterns, to: &graph)
    }
}
