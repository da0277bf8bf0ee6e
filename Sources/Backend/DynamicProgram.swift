// DynamicProgram: a staged graph assembled for the dynamic backends: steps in stage order, the
// stage of each step, the exits, and concats of earlier groups laid out as in-place views.

import IR

/// What the dynamic C and Swift printers share (docs/STAGES.md, "For the supernet, the search and
/// materialize"): the stage table's exits with their cumulative MACs, and an `Assembly` whose
/// steps run stage 1 first, then stage 2, and so on, so the emitted code can return after any exit.
///
/// A `concat` along channels of values the program computes (at batch 1 its inputs are back to
/// back in memory) becomes a view when its inputs can be laid out in that order: every concat
/// asks for `a` right before `b` for each neighbouring pair, and a concat whose requests clash with
/// an earlier one stays a copy. For a class split into `v.s1 … v.sS` the stage-s conv reads
/// `concat(v.s1 … v.ss)`, so the class's groups end up contiguous and every such concat is the
/// prefix of the run, read in place. A run stays allocated from its first group's step to its
/// last reader, so later stages find the earlier groups where they were written.
struct DynamicProgram {
    let asm: Assembly
    let info: StageInfo
    /// The stage (1-based) of each of `asm`'s steps; non-decreasing.
    let stageOfStep: [Int]
    /// The cumulative MACs of each stage's exit (index s-1), counted as `CostModel.stageReport`.
    let exitMACs: [Int]
    /// Floats of the graph output (the classes, for a classifier).
    let outputCount: Int
    /// Concats read in place (no copy), and those left as copies.
    let viewConcats: Int
    let copiedConcats: Int

    init(graph: Graph, lang: Language, options: EmitOptions) throws {
        guard let info = graph.stageInfo else { throw BackendError("the graph is not split into stages") }
        guard graph.inputs.count == 1, graph.outputs.count == 1 else {
            throw BackendError("a staged model must have one input and one output, has \(graph.inputs.count) and \(graph.outputs.count)")
        }
        guard !info.exits.isEmpty else { throw BackendError("the staged graph has no exits") }
        self.info = info
        exitMACs = try CostModel.stageReport(graph).cumulativeMACs
        var stageOfValue: [String: Int] = [:]
        for node in graph.nodes { for o in node.outputs { stageOfValue[o] = node.staging?.stage ?? 1 } }

        var program = try Lowering.lower(graph)
        // Every exit's value is read after its stage; as program outputs they stay alive to the end.
        program.outputs = info.exits.map(\.value)
        // Stage order: a node reads only values of stages <= its own, so a stable sort by stage
        // keeps every step after the steps it reads.
        func stage(_ step: Step) -> Int { step.outputs.compactMap { stageOfValue[$0] }.max() ?? 1 }
        program.steps = program.steps.enumerated().sorted { (stage($0.element), $0.offset) < (stage($1.element), $1.offset) }
            .map(\.element)

        // Concats as views.
        let computed = Set(program.steps.filter { if case .concat = $0.op { return false } else { return true } }.flatMap(\.outputs))
        var next: [String: String] = [:], prev: [String: String] = [:]
        var views = 0, copies = 0
        var kept: [Step] = []
        for step in program.steps {
            guard case .concat(let axis) = step.op, let shape = program.shapes[step.outputs[0]] else { kept.append(step); continue }
            let a = axis < 0 ? axis + shape.count : axis
            let ins = step.inputs
            let eligible = a >= 0 && a < shape.count && shape[..<a].allSatisfy { $0 == 1 } && Set(ins).count == ins.count
                && ins.allSatisfy { computed.contains($0) && program.aliasOf[$0] == nil && !program.inputs.contains($0) }
            var n2 = next, p2 = prev
            var ok = eligible
            if ok {
                for (x, y) in zip(ins, ins.dropFirst()) {
                    if let n = n2[x], n != y { ok = false; break }
                    if let p = p2[y], p != x { ok = false; break }
                    n2[x] = y
                    p2[y] = x
                }
            }
            if ok, Self.hasCycle(from: ins[0], next: n2) { ok = false }
            guard ok else { copies += 1; kept.append(step); continue }
            next = n2
            prev = p2
            views += 1
            let out = step.outputs[0]
            for (v, r) in program.aliasOf where r == out { program.aliasOf[v] = ins[0] }
            program.aliasOf[out] = ins[0]
        }
        program.steps = kept
        var runs: [[String]] = []
        for head in next.keys.sorted() where prev[head] == nil {
            var run = [head]
            while let n = next[run[run.count - 1]] { run.append(n) }
            runs.append(run)
        }
        asm = try Assembly(program: program, lang: lang, options: options, contiguous: runs)
        stageOfStep = asm.program.steps.map(stage)
        outputCount = program.count(graph.outputs[0])
        viewConcats = views
        copiedConcats = copies
    }

    /// True when following `next` from `start` comes back to a value already seen.
    static func hasCycle(from start: String, next: [String: String]) -> Bool {
        var seen: Set<String> = [start]
        var v = start
        while let n = next[v] {
            if !seen.insert(n).inserted { return true }
            v = n
        }
        return false
    }
}
