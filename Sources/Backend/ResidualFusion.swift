// ResidualFusion: a residual Add (and its activation) folded into the convolution that feeds it,
// so the conv's kernel adds the shortcut while it writes its output instead of a separate pass.

/// Before: `c = conv(x, w, b)` (no activation), `y = relu(add(c, r))`, `c` read by nothing else.
/// After: one step `y = conv(x, w, b) + r`, then relu, whose kernel reads `r` as input 3 (`Step.residual`).
///
/// A backend decision, not an IR rewrite: the interpreter and the IR keep the Add, and the fused
/// kernel computes the same floats (the conv's output rounded to float, plus the shortcut, then
/// the activation), so results keep their bits. On the staged models' narrow stage-1 layers the
/// Add was a whole extra pass over the block's output (about 2 % of stage 1's time).
enum ResidualFusion {
    /// `program` with every eligible conv + Add pair as one step, at the Add's place (the shortcut
    /// may be computed after the conv, e.g. by a downsampling conv). Values in `keep` (laid out in
    /// a contiguous run, readable through a view) and program outputs are never fused away.
    static func fuse(_ program: Program, keep: Set<String>) -> Program {
        var readers: [String: Int] = [:]
        for step in program.steps { for v in step.inputs { readers[program.root(v), default: 0] += 1 } }
        let aliased = Set(program.aliasOf.values)
        let outputs = Set(program.outputs.map(program.root))
        var producer: [String: Int] = [:]
        for (i, step) in program.steps.enumerated() { for o in step.outputs { producer[o] = i } }

        var steps = program.steps
        var removed: Set<Int> = []
        for (i, add) in program.steps.enumerated() {
            guard case .add = add.op, add.inputs.count == 2, add.outputs.count == 1,
                  let shape = program.shapes[add.outputs[0]] else { continue }
            for j in 0..<2 {
                let c = add.inputs[j], r = add.inputs[1 - j]
                guard program.aliasOf[c] == nil, program.root(r) != c,
                      let p = producer[c], !removed.contains(p), p < i,
                      case .conv = steps[p].op, steps[p].activation == nil, steps[p].residual == nil,
                      steps[p].inputs.count == 3, steps[p].outputs == [c],
                      readers[c] == 1, !aliased.contains(c), !outputs.contains(c), !keep.contains(c),
                      program.constants[program.root(r)] == nil, program.shapes[c] == shape, program.shapes[r] == shape
                else { continue }
                var fused = steps[p]
                fused.name += "+" + add.name
                fused.inputs.append(r)
                fused.residual = 3
                fused.outputs = add.outputs
                fused.activation = add.activation
                steps[i] = fused
                removed.insert(p)
                break
            }
        }
        var out = program
        out.steps = steps.enumerated().filter { !removed.contains($0.offset) }.map(\.element)
        return out
    }
}
