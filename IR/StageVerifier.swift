// StageVerifier: the verifier's stage rules (stage order of reads, partition table, slices, exits).

extension Verifier {
    /// Stage rules (DESIGN: "The IR"): with no stage table no node has a stage; with one, every node
    /// has a stage in 1...S and reads only graph inputs, constants and values of stages ≤ its own;
    /// every class's boundaries are strictly increasing and end at its channel count; each slice's
    /// bounds equal its partition ranges resolved; the classifier sums exist per stage; exits are in
    /// increasing stage order, each value of its own stage, and the last exit is at stage S and is
    /// the graph output. Depth stages (`StageAxis.depth`) have no classes or sums instead, and an
    /// exit after every stage that names its block; width stages cut at blocks
    /// (`StageAxis.widthDepth`) have S·(B+1) stages, the classes and sums of S width stages (sum s
    /// at the last sub-stage of width stage s) and an exit after every stage.
    static func checkStages(_ g: Parts, into errors: inout [IRError]) {
        guard let info = g.stageInfo else {
            for node in g.nodes where node.staging != nil {
                errors.append(IRError("has a stage but the graph has no stage table", node: node.name))
            }
            return
        }
        let s = info.stageCount
        if info.axis == .widthDepth, info.blockCount < 1 || s % (info.blockCount + 1) != 0 {
            errors.append(IRError("\(s) stages cannot be width stages cut at \(info.blockCount) blocks (S·(blocks+1) stages are needed)"))
            return
        }
        let widths = info.widthStageCount
        for k in info.classes {
            let b = k.boundaries
            let increasing = zip(b, b.dropFirst()).allSatisfy { $0 < $1 }
            if b.count != widths || !increasing || (b.first ?? 0) < 1 || b.last != k.channels {
                errors.append(IRError("class '\(k.name)' of \(k.channels) channels has boundaries \(b); \(widths) strictly increasing boundaries ending at \(k.channels) are needed"))
            }
            if !k.bins.isEmpty, !(zip(k.bins, k.bins.dropFirst()).allSatisfy { $0 < $1 } && k.bins.last == k.channels && k.bins[0] >= 1) {
                errors.append(IRError("class '\(k.name)' has bins \(k.bins); strictly increasing bins ending at \(k.channels) are needed"))
            }
        }
        var stageOf: [String: Int] = [:]
        for node in g.nodes {
            guard let staging = node.staging else {
                errors.append(IRError("has no stage in a staged graph", node: node.name))
                continue
            }
            guard (1...s).contains(staging.stage) else {
                errors.append(IRError("has stage \(staging.stage), outside 1...\(s)", node: node.name))
                continue
            }
            for input in node.inputs {
                if let t = stageOf[input], t > staging.stage {
                    errors.append(IRError("of stage \(staging.stage) reads '\(input)' of the later stage \(t)", node: node.name))
                }
            }
            for out in node.outputs { stageOf[out] = staging.stage }
            checkRanges(node, staging, info, into: &errors)
        }
        if info.axis == .depth {
            checkDepth(info, stageOf, into: &errors)
        } else if info.classifierSums.count != widths {
            errors.append(IRError("the stage table lists \(info.classifierSums.count) classifier sums for \(widths) width stages"))
        }
        if info.axis == .widthDepth { checkWidthDepth(info, stageOf, into: &errors) }
        for e in info.exits where info.axis == .width && e.block != nil {
            errors.append(IRError("exit \(e.stage) names a block, but the stages are width stages (blocks belong to depth exits)"))
        }
        for (i, sum) in info.classifierSums.enumerated() {
            let want = info.stage(width: i + 1, block: nil)
            guard stageOf[sum] != want else { continue }
            errors.append(IRError("classifier sum '\(sum)' of stage \(want) is \(stageOf[sum].map { "of stage \($0)" } ?? "not a node output")"))
        }
        var last = 0
        for e in info.exits {
            if e.stage <= last || e.stage > s {
                errors.append(IRError("exit at stage \(e.stage) is out of order or outside 1...\(s)"))
            }
            last = e.stage
            if stageOf[e.value] != e.stage {
                errors.append(IRError("exit \(e.stage) value '\(e.value)' is \(stageOf[e.value].map { "of stage \($0)" } ?? "not a node output")"))
            }
            if let out = g.outputs.first, let t = g.types[e.value], let u = g.types[out], t != u {
                errors.append(IRError("exit \(e.stage) value '\(e.value)' is \(t) but the graph output is \(u)"))
            }
        }
        if let final = info.exits.last {
            if final.stage != s || g.outputs != [final.value] {
                errors.append(IRError("the last exit (stage \(final.stage), '\(final.value)') must be at stage \(s) and be the only graph output"))
            }
        } else {
            errors.append(IRError("the staged graph has no exits (the last stage needs one)"))
        }
    }

    /// Depth stages: no channel classes, reuse flags or classifier sums; every stage ends with its
    /// exit, and each early exit names the block (a value of its own stage) its head reads.
    private static func checkDepth(_ info: StageInfo, _ stageOf: [String: Int], into errors: inout [IRError]) {
        if !info.classes.isEmpty || !info.reuseOff.isEmpty || !info.classifierSums.isEmpty {
            errors.append(IRError("depth stages have no channel classes, reuse flags or classifier sums (those are the width axis's)"))
        }
        if info.exits.map(\.stage) != Array(1...info.stageCount) {
            errors.append(IRError("depth stages need an exit after every stage 1...\(info.stageCount); exits are at \(info.exits.map(\.stage))"))
        }
        for e in info.exits where e.stage < info.stageCount {
            guard let block = e.block else {
                errors.append(IRError("depth exit \(e.stage) names no block"))
                continue
            }
            if stageOf[block] != e.stage {
                errors.append(IRError("depth exit \(e.stage) block '\(block)' is \(stageOf[block].map { "of stage \($0)" } ?? "not a node output")"))
            }
        }
    }

    /// Width stages cut at blocks: an exit after every stage; the exit of each stage that ends at a
    /// block names that block (a value of its own stage), the exit of each width stage's last
    /// sub-stage (the classifier) names none.
    private static func checkWidthDepth(_ info: StageInfo, _ stageOf: [String: Int], into errors: inout [IRError]) {
        if info.exits.map(\.stage) != Array(1...info.stageCount) {
            errors.append(IRError("width stages cut at blocks need an exit after every stage 1...\(info.stageCount); exits are at \(info.exits.map(\.stage))"))
        }
        for e in info.exits {
            let at = info.position(ofStage: e.stage)
            switch (at.block, e.block) {
            case (nil, nil):
                continue
            case (nil, .some):
                errors.append(IRError("exit \(e.stage) (width stage \(at.width), the classifier) names a block"))
            case (.some(let b), nil):
                errors.append(IRError("exit \(e.stage) (width stage \(at.width), block \(b)) names no block"))
            case (.some(let b), .some(let value)):
                if stageOf[value] != e.stage {
                    errors.append(IRError("exit \(e.stage) (width stage \(at.width), block \(b)) block '\(value)' is \(stageOf[value].map { "of stage \($0)" } ?? "not a node output")"))
                }
            }
        }
    }

    /// A slice's `starts`/`ends` on each axis a partition range names equal that range resolved.
    private static func checkRanges(_ node: Node, _ staging: NodeStaging, _ info: StageInfo, into errors: inout [IRError]) {
        guard !staging.ranges.isEmpty else { return }
        guard case .slice(let starts, let ends, let axes, _) = node.op else {
            errors.append(IRError("has partition ranges but is a \(node.op.name), not a slice", node: node.name))
            return
        }
        for r in staging.ranges {
            guard let span = info.resolve(r) else {
                errors.append(IRError("has a partition range of class \(r.classIndex), stages \(r.firstStage)...\(r.lastStage) that the stage table cannot resolve", node: node.name))
                continue
            }
            guard let i = axes.firstIndex(of: r.axis), starts[i] == span.lowerBound, ends[i] == span.upperBound else {
                errors.append(IRError("slices axis \(r.axis) other than its partition range \(span.lowerBound)..<\(span.upperBound)", node: node.name))
                continue
            }
        }
    }
}
