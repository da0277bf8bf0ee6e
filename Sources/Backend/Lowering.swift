// Lowering: IR graph → backend program: views become aliases, BatchNormalization folds into the
// preceding convolution, activations fuse into their producer. The backend's only graph rewrites.

import IR

/// One kernel invocation of the emitted code.
struct Step {
    /// The IR node it came from (for comments and errors).
    var name: String
    var op: Op
    var inputs: [String]
    var outputs: [String]
    /// Applied to every output element as it is produced.
    var activation: Activation?
}

/// The graph as the emitters see it: concrete shapes (batch 1), kernels in order, and views.
struct Program {
    var name: String
    var inputs: [String]
    var outputs: [String]
    /// Concrete shape of every value (a symbolic batch is 1).
    var shapes: [String: [Int]]
    var constants: [String: Tensor]
    var steps: [Step]
    /// Values that are views (reshape, flatten, identity, dropout) of another value's storage,
    /// mapped to the value that owns the storage.
    var aliasOf: [String: String]

    /// The value owning `v`'s storage.
    func root(_ v: String) -> String { aliasOf[v] ?? v }

    func count(_ v: String) -> Int { shapes[v]!.elementCount }
}

/// Builds a `Program` from a verified graph.
///
/// These rewrites live here as well as in the canonicalization passes (fold-batchnorm,
/// fuse-activation), because the backend must take any valid graph (the node tests feed it unpassed
/// imports); after `canonicalize` (which `s2dc emit` runs first) they find nothing left to do, and a
/// conv's fused `activation` attribute becomes the step's epilogue.
enum Lowering {
    /// The activation ops that may fuse into these producers.
    static func canFuse(into op: Op) -> Bool {
        switch op {
        case .conv, .gemm, .matMul, .add, .sub, .mul, .div, .batchNormalization: return true
        default: return false
        }
    }

    static func lower(_ graph: Graph) throws -> Program {
        var shapes: [String: [Int]] = [:]
        for (name, type) in graph.types { shapes[name] = type.shape(batch: 1) }
        var program = Program(name: graph.name, inputs: graph.inputs.map(\.name), outputs: graph.outputs,
                              shapes: shapes, constants: graph.constants, steps: [], aliasOf: [:])
        for node in graph.nodes {
            switch node.op {
            case .flatten, .reshape, .identity, .dropout:
                program.aliasOf[node.outputs[0]] = program.root(node.inputs[0])
            case .conv(var a) where a.activation != nil:
                // A conv carrying an activation fused by the fuse-activation pass: the backend's
                // epilogue applies it; the kernel sees a plain conv.
                let fused = Activation(a.activation!.op)
                a.activation = nil
                program.steps.append(Step(name: node.name, op: .conv(a), inputs: node.inputs, outputs: node.outputs, activation: fused))
            default:
                program.steps.append(Step(name: node.name, op: node.op, inputs: node.inputs, outputs: node.outputs))
            }
        }
        foldBatchNorm(&program)
        fuseActivations(&program)
        return program
    }

    /// How many times the storage of `value` is read (through any view) by steps or graph outputs.
    static func uses(of value: String, in p: Program) -> Int {
        var n = 0
        for s in p.steps { n += s.inputs.filter { p.root($0) == value }.count }
        n += p.outputs.filter { p.root($0) == value }.count
        return n
    }

    /// The step producing `value`, if any.
    static func producer(of value: String, in p: Program) -> Int? {
        p.steps.firstIndex { $0.outputs.contains(value) }
    }

    /// conv → batch_norm with constant parameters becomes one conv with scaled weights and bias:
    /// W'[o] = W[o]·s[o], b'[o] = (b[o] − mean[o])·s[o] + beta[o], s = gamma / sqrt(var + eps).
    static func foldBatchNorm(_ p: inout Program) {
        var i = 0
        while i < p.steps.count {
            let bn = p.steps[i]
            guard case .batchNormalization(let eps) = bn.op, bn.inputs[1...].allSatisfy({ p.constants[$0] != nil }),
                  let j = producer(of: bn.inputs[0], in: p), case .conv(let attrs) = p.steps[j].op,
                  p.steps[j].activation == nil, uses(of: bn.inputs[0], in: p) == 1,
                  let w = p.constants[p.steps[j].inputs[1]],
                  p.steps[j].inputs.count < 3 || p.constants[p.steps[j].inputs[2]] != nil
            else { i += 1; continue }
            let conv = p.steps[j]
            let cout = w.shape[0], per = w.count / max(cout, 1)
            let gamma = p.constants[bn.inputs[1]]!.scalars, beta = p.constants[bn.inputs[2]]!.scalars
            let mean = p.constants[bn.inputs[3]]!.scalars, variance = p.constants[bn.inputs[4]]!.scalars
            let bias = conv.inputs.count == 3 ? p.constants[conv.inputs[2]]!.scalars : [Float](repeating: 0, count: cout)
            var newW = w.scalars, newB = [Float](repeating: 0, count: cout)
            for o in 0..<cout {
                // Double precision, so the fold adds no error beyond the final rounding.
                let s = Double(gamma[o]) / (Double(variance[o]) + Double(eps)).squareRoot()
                for k in 0..<per { newW[o * per + k] = Float(Double(w.scalars[o * per + k]) * s) }
                newB[o] = Float((Double(bias[o]) - Double(mean[o])) * s + Double(beta[o]))
            }
            let wName = fresh("\(bn.outputs[0])#folded_weight", p), bName = fresh("\(bn.outputs[0])#folded_bias", p)
            p.constants[wName] = Tensor(shape: w.shape, scalars: newW)
            p.constants[bName] = Tensor(shape: [cout], scalars: newB)
            p.shapes[wName] = w.shape
            p.shapes[bName] = [cout]
            p.steps[j] = Step(name: "\(conv.name)+\(bn.name)", op: .conv(attrs), inputs: [conv.inputs[0], wName, bName],
                              outputs: bn.outputs, activation: nil)
            p.steps.remove(at: i)
        }
    }

    /// An activation step whose input is produced by a fusable step read only by it disappears
    /// into that step.
    static func fuseActivations(_ p: inout Program) {
        var i = 0
        while i < p.steps.count {
            let act = p.steps[i]
            guard let a = Activation(act.op), let j = producer(of: act.inputs[0], in: p), p.aliasOf[act.inputs[0]] == nil,
                  canFuse(into: p.steps[j].op), p.steps[j].activation == nil, p.steps[j].outputs.count == 1,
                  uses(of: act.inputs[0], in: p) == 1
            else { i += 1; continue }
            p.steps[j].activation = a
            p.steps[j].outputs = act.outputs
            p.steps[j].name += "+\(act.name)"
            p.steps.remove(at: i)
        }
    }

    private static func fresh(_ base: String, _ p: Program) -> String {
        var name = base, k = 1
        while p.shapes[name] != nil { name = "\(base)\(k)"; k += 1 }
        return name
    }
}
