// Invariants: what every fuzz target checks after each step; a broken invariant traps, so the fuzzer reports it.

import IR

enum Invariants {
    /// Traps when the verifier finds a problem in `graph`: a step that returns a graph must
    /// return a valid one (the import, a pass, a re-import).
    static func requireValid(_ graph: Graph, after step: String) {
        if let problem = Verifier.diagnostics(graph).first {
            fatalError("the graph after \(step) is not valid IR: \(problem)")
        }
    }

    /// Traps unless `graph` prints as text that parses back and prints the same (the textual IR's
    /// promise), with every constant in full.
    static func requireTextRoundTrip(_ graph: Graph, after step: String) {
        let text = TextPrinter.print(graph, elideConstantsAbove: nil)
        let back: Graph
        do {
            back = try TextParser.parse(text)
        } catch {
            fatalError("the printed graph after \(step) does not parse back: \(error)\n\(text)")
        }
        let again = TextPrinter.print(back, elideConstantsAbove: nil)
        if again != text {
            fatalError("the graph after \(step) prints differently once parsed back:\n\(text)\n---\n\(again)")
        }
    }
}
