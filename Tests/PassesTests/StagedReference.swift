// StagedReference: the independent reference for staged graphs: the static model with masked weights.

import XCTest
import IR
import Passes
import Runtime

/// The reference semantics, computed without the splitter: exit s of a staged graph equals
/// the static graph with every split weighted layer's weight W[o, i] zeroed where input feature i's
/// group is later than (reuse) or different from (reuse off) output channel o's group, and the
/// classifier's columns of groups > s zeroed. Groups come from the stage table's classes and
/// member lists alone (a Concat's features are looked up through its inputs).
struct MaskedReference {
    let source: Graph
    let info: StageInfo
    let reuse: Bool
    var memberOf: [String: Int] = [:]

    init(source: Graph, staged: Graph, reuse: Bool) throws {
        self.source = source
        self.reuse = reuse
        guard let info = staged.stageInfo else { throw PassError("not staged") }
        self.info = info
        for (k, c) in info.classes.enumerated() { for m in c.members { memberOf[m] = k } }
    }

    /// The group (1-based stage) of every feature along axis 1 of static value `v`; 0 when whole.
    func groups(_ v: String) throws -> [Int] {
        let features = try source.type(of: v).dims[1].value ?? 0
        if let k = memberOf[v] {
            let c = info.classes[k]
            let scale = features / c.channels
            return (0..<features).map { c.stage(ofChannel: $0 / scale) }
        }
        guard let p = source.producer(of: v) else { return Array(repeating: 0, count: features) }
        let node = source.nodes[p]
        if case .concat = node.op { return try node.inputs.flatMap { try groups($0) } }
        // A weightless op of a Concat's result (pool, BatchNormalization, Relu, Flatten): its
        // features follow its split operand's, each repeated H·W times after a Flatten.
        if ChannelClassAnalysis.weightOperand(node, source) == nil {
            for input in node.inputs where source.constants[input] == nil {
                let g = try groups(input)
                guard g.contains(where: { $0 > 0 }), !g.isEmpty, features % g.count == 0 else { continue }
                let repeatCount = features / g.count
                return (0..<features).map { g[$0 / repeatCount] }
            }
        }
        return Array(repeating: 0, count: features)
    }

    /// The static graph as exit `s` computes it, and that exit's MACs counted from the masks.
    func masked(exit s: Int) throws -> (graph: Graph, macs: Int) {
        var g = source
        var macs = 0
        for node in source.nodes {
            guard let w = ChannelClassAnalysis.weightOperand(node, source), let weight = source.constants[w] else { continue }
            let isClassifier = node.name == info.classifier
            let x = node.inputs[0], y = node.outputs[0]
            var (outAxis, inAxis) = (0, 1)
            var perPair = 1
            var depthwise = false
            switch node.op {
            case .conv(let a):
                let out = try source.type(of: y).shape(batch: 1)
                perPair = out.dropFirst(2).reduce(1, *) * a.kernel.reduce(1, *)
                depthwise = a.group > 1
            case .gemm(let a): if !a.transB { (outAxis, inAxis) = (1, 0) }
            default: (outAxis, inAxis) = (1, 0)
            }
            var data = weight
            let gx = try groups(x), gy = try groups(y)
            let dims = weight.shape
            let rows = dims[outAxis], cols = dims[inAxis]
            let inner = dims.count > 2 ? dims[2...].reduce(1, *) : 1
            // The input features as runs of one group (a depthwise conv's input "group" is its
            // row's), so a row is masked run by run: VGG-19's 100 M-weight layer one element at a
            // time takes seconds in a debug build.
            var runs: [(range: Range<Int>, group: Int)] = []
            for i in 0..<cols {
                let gi = depthwise ? -1 : gx[i]
                if let last = runs.last, last.group == gi, last.range.upperBound == i {
                    runs[runs.count - 1].range = last.range.lowerBound..<(i + 1)
                } else {
                    runs.append((i..<(i + 1), gi))
                }
            }
            data.scalars.withUnsafeMutableBufferPointer { buffer in
                for o in 0..<rows {
                    let go = isClassifier ? s : gy[o]
                    if !isClassifier, go > s { continue }
                    for run in runs {
                        let gi = run.group < 0 ? go : run.group
                        let keep: Bool
                        if gi == 0 { keep = true }  // a whole input is read by every stage
                        else if isClassifier { keep = gi <= s }
                        else { keep = reuse ? gi <= go : gi == go }
                        if keep {
                            macs += perPair * run.range.count
                        } else if outAxis == 0 {
                            let start = (o * cols + run.range.lowerBound) * inner
                            buffer[start..<(start + run.range.count * inner)].update(repeating: 0)
                        } else {
                            for i in run.range { for j in 0..<inner { buffer[(i * rows + o) * inner + j] = 0 } }
                        }
                    }
                }
            }
            try g.replaceConstant(w, with: data)
        }
        return (g, macs)
    }
}

/// Runs every exit of `staged` (every sample forced to it) and the masked reference, and checks
/// outputs (1e-5 relative to the reference's largest magnitude) and MACs.
func assertStagedMatchesReference(source: Graph, staged: Graph, reuse: Bool, input: Tensor, label: String,
                                  file: StaticString = #filePath, line: UInt = #line) throws {
    let reference = try MaskedReference(source: source, staged: staged, reuse: reuse)
    let runner = try StagedInterpreter(graph: staged)
    let inputName = source.inputs[0].name, output = source.outputs[0]
    for e in reference.info.exits {
        let result = try runner.run([inputName: input], exitAt: e.stage)
        let (masked, macs) = try reference.masked(exit: e.stage)
        let want = try Interpreter(graph: masked).run([inputName: input])[output]
        guard let have = result.outputs[output], let want else { return XCTFail("\(label): no output", file: file, line: line) }
        XCTAssertEqual(have.shape, want.shape, label, file: file, line: line)
        let scale = max(want.scalars.map(abs).max() ?? 0, 1e-30)
        let diff = zip(have.scalars, want.scalars).map { abs($0 - $1) }.max() ?? 0
        XCTAssertLessThanOrEqual(diff / scale, 1e-5, "\(label) exit \(e.stage): max |diff| \(diff) vs scale \(scale)",
                                 file: file, line: line)
        XCTAssertEqual(result.exitStage, Array(repeating: e.stage, count: input.shape[0]), label, file: file, line: line)
        XCTAssertEqual(result.macs.first, macs, "\(label) exit \(e.stage) MACs", file: file, line: line)
    }
}

/// As `assertStagedMatchesReference`, with every exit from one interpreter pass over the staged
/// graph (`allExitsGraph`) instead of one staged run per exit, and each exit's MACs the cost
/// model's cumulative figure (what the staged interpreter reports): for the largest models, where
/// one forward pass takes seconds in a debug build.
func assertAllExitsMatchReference(source: Graph, staged: Graph, reuse: Bool, input: Tensor, label: String,
                                  file: StaticString = #filePath, line: UInt = #line) throws {
    let reference = try MaskedReference(source: source, staged: staged, reuse: reuse)
    let inputName = source.inputs[0].name, output = source.outputs[0]
    let all = try Interpreter(graph: try staged.allExitsGraph()).run([inputName: input])
    let cumulative = try CostModel.stageReport(staged).cumulativeMACs
    for e in reference.info.exits {
        let (masked, macs) = try reference.masked(exit: e.stage)
        let want = try Interpreter(graph: masked).run([inputName: input])[output]
        guard let have = all[e.value], let want else { return XCTFail("\(label): no output", file: file, line: line) }
        XCTAssertEqual(have.shape, want.shape, label, file: file, line: line)
        let scale = max(want.scalars.map(abs).max() ?? 0, 1e-30)
        let diff = zip(have.scalars, want.scalars).map { abs($0 - $1) }.max() ?? 0
        XCTAssertLessThanOrEqual(diff / scale, 1e-5, "\(label) exit \(e.stage): max |diff| \(diff) vs scale \(scale)",
                                 file: file, line: line)
        XCTAssertEqual(cumulative[e.stage - 1], macs, "\(label) exit \(e.stage) MACs", file: file, line: line)
    }
}

/// A deterministic pseudo-random input of `shape` (values in [-1, 1)).
func stagedTestInput(_ shape: [Int], seed: UInt64 = 7) -> Tensor {
    var state = seed
    let scalars = (0..<shape.reduce(1, *)).map { _ -> Float in
        state = state &* 6364136223846793005 &+ 1442695040888963407
        return Float(Int64(bitPattern: state >> 11) % 2_000_000) / 1_000_000 - 1
    }
    return Tensor(shape: shape, scalars: scalars)
}
