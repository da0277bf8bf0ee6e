// IRTarget: the fuzz entry over the textual IR parser, the verifier and the passes named in `passes`.

import IR
import Passes

/// One fuzz input through the textual IR: parse → verify → print/parse round trip → the passes of
/// `passes` as a pipeline, each followed by the verifier and the round trip. Thrown errors are correct
/// answers; a trap, or a pass that leaves an invalid graph, is a bug and traps here.
public enum IRTarget {
    /// The passes run on every graph that parses, in order, each a one-pass pipeline in the
    /// `--passes` syntax (the dynamic passes need options to do anything: `split-stages` without
    /// `stages` or `fractions` refuses); `FuzzTests` checks that every entry parses.
    /// The last two: depth exits when no split took, then canonicalize on the staged result (it
    /// must keep every exit).
    public static let passes = ["canonicalize", "split-stages{stages=2}", "insert-exits{thresholds=[0.5]}",
                                "split-stages{fractions=[0.25,0.5] reuse=false}", "insert-exits{at=blocks seed=1}", "canonicalize"]

    /// Runs one input; returns true when it parsed (the passes then ran on it).
    @discardableResult
    public static func run(_ bytes: [UInt8]) -> Bool {
        guard var graph = try? TextParser.parse(String(decoding: bytes, as: UTF8.self)) else { return false }
        Invariants.requireValid(graph, after: "parsing")
        Invariants.requireTextRoundTrip(graph, after: "parsing")
        for name in passes {
            guard let manager = try? PassManager(pipeline: name) else {
                fatalError("IRTarget.passes holds '\(name)', which is not a valid pipeline")
            }
            var result = graph
            // A pass that refuses the graph (a thrown error) leaves it as it was for the next one,
            // so a later pass still sees every input that parsed.
            guard (try? manager.run(&result)) != nil else { continue }
            Invariants.requireValid(result, after: "pass \(name)")
            Invariants.requireTextRoundTrip(result, after: "pass \(name)")
            graph = result
        }
        return true
    }
}
