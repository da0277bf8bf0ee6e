// IRTarget: the fuzz entry over the textual IR parser, the verifier and the passes named in `passes`.

import IR
import Passes

/// One fuzz input through the textual IR: parse → verify → print/parse round trip → the passes of
/// `passes` as a pipeline, each followed by the verifier and the round trip. Thrown errors are correct
/// answers; a trap, or a pass that leaves an invalid graph, is a bug and traps here.
public enum IRTarget {
    /// The passes run on every graph that parses, by their registry name, in order, each with its
    /// default options. The dynamic passes join this list as they are registered
    /// (`split-stages`, `insert-exits`); `FuzzTests` checks that every name here is registered.
    public static let passes = ["canonicalize"]

    /// Runs one input; returns true when it parsed (the passes then ran on it).
    @discardableResult
    public static func run(_ bytes: [UInt8]) -> Bool {
        guard var graph = try? TextParser.parse(String(decoding: bytes, as: UTF8.self)) else { return false }
        Invariants.requireValid(graph, after: "parsing")
        Invariants.requireTextRoundTrip(graph, after: "parsing")
        for name in passes {
            guard let descriptor = PassRegistry.shared.descriptor(named: name) else {
                fatalError("IRTarget.passes names '\(name)', which is not a registered pass")
            }
            var result = graph
            // A pass that refuses the graph (a thrown error) leaves it as it was for the next one,
            // so a later pass still sees every input that parsed.
            guard let pass = try? descriptor.instantiate(), (try? pass.run(on: &result)) != nil else { continue }
            Invariants.requireValid(result, after: "pass \(name)")
            Invariants.requireTextRoundTrip(result, after: "pass \(name)")
            graph = result
        }
        return true
    }
}
