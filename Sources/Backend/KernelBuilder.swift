// KernelBuilder: what a kernel generator writes into: parameters, body, scratch, packed weights.

import IR

/// All constant data of the emitted model, laid out in one float array (each block 16-aligned).
/// Blocks are keyed, so a weight read by two kernels in the same layout is stored once.
final class WeightTable {
    private(set) var data: [Float] = []
    private var offsets: [String: Int] = [:]

    /// The offset of the block `key`, adding `make()` when new.
    func offset(_ key: String, _ make: () -> [Float]) -> Int {
        if let o = offsets[key] { return o }
        let o = data.count
        data += make()
        data += [Float](repeating: 0, count: MemoryPlanner.align(data.count) - data.count)
        offsets[key] = o
        return o
    }
}

/// A kernel parameter: a value's storage, the weight table, or the step's scratch space.
enum KernelParam: Equatable {
    case input(Int)
    case output(Int)
    case weights
    case scratch
}

/// Collects one step's kernel: its body in the loop language, the parameters it reads, and the
/// scratch it needs. Generators ask for pointers by role; only what they use becomes a parameter,
/// so no emitted function has an unused parameter (an error under -Wextra -Werror).
final class KernelBuilder {
    let lang: Language
    let step: Step
    let program: Program
    let weights: WeightTable
    let options: EmitOptions
    private(set) var params: [KernelParam] = []
    var body: [Stmt] = []
    private(set) var scratchFloats = 0
    /// Shared helper functions the body calls (emitted once per file).
    var helpers: Set<String> = []
    /// Whether the kernel added the step's residual as it wrote its output (else a sweep does).
    var residualDone = false

    init(lang: Language, step: Step, program: Program, weights: WeightTable, options: EmitOptions) {
        self.lang = lang
        self.step = step
        self.program = program
        self.weights = weights
        self.options = options
    }

    private func use(_ p: KernelParam) {
        if !params.contains(p) { params.append(p) }
    }

    /// The pointer name of input `i`.
    func x(_ i: Int) -> String { use(.input(i)); return "x\(i)" }
    /// The pointer name of output `i`.
    func y(_ i: Int = 0) -> String { use(.output(i)); return "y\(i)" }
    /// Shape of input `i` / output `i`.
    func xs(_ i: Int) -> [Int] { program.shapes[step.inputs[i]]! }
    func ys(_ i: Int = 0) -> [Int] { program.shapes[step.outputs[i]]! }
    /// Constant data of input `i`, when it is a constant.
    func constant(_ i: Int) -> Tensor? {
        guard i < step.inputs.count else { return nil }
        return program.constants[program.root(step.inputs[i])]
    }

    /// A pointer expression to a block of the weight table.
    func packed(_ key: String, _ make: () -> [Float]) -> String {
        use(.weights)
        let o = weights.offset(key, make)
        return o == 0 ? "w" : "(w + \(o))"
    }

    /// A pointer to `n` floats of scratch space (the step's own, inside the arena).
    func scratch(_ n: Int) -> String {
        use(.scratch)
        scratchFloats = max(scratchFloats, n)
        return "s"
    }

    /// The name of a shared helper function, marking it (and, in C, the multiply-add selection it
    /// uses) as needed.
    func helper(_ name: String) -> String {
        helpers.insert(name)
        if lang == .c, name == "panel" { helpers.insert("simd") }
        return lang == .c ? "\(options.prefix)_\(name)" : name
    }

    /// The C GEMM driver of tile shape `t` (with `offsets`, the one reading B's rows through a
    /// table of offsets), marking it and its tiles as needed.
    func gemmHelper(_ t: GemmTile, offsets: Bool = false) -> String {
        helpers.formUnion(CHelpers.gemm(t, offsets: offsets))
        return "\(options.prefix)_gemm\(offsets ? "o" : "")_\(t.name)"
    }

    /// `acc += a · b` as one fused multiply-add where the C target has one (the P_FMA macro of the
    /// "simd" helper); Swift keeps `+=`.
    func fma(_ acc: String, _ a: String, _ b: String) -> Stmt {
        guard lang == .c else { return .add(acc, "\(a) * \(b)") }
        helpers.insert("simd")
        return .set(acc, "\(options.prefix.uppercased())_FMA(\(a), \(b), \(acc))")
    }

    /// The expression `v` with the step's activation applied; `v` itself for a step with a
    /// residual, whose activation follows the residual's addition (`residualSweep`, `withResidual`).
    func act(_ v: String) -> String { step.residual == nil ? finalAct(v) : v }

    /// The expression `v` with the step's activation applied, residual or not.
    func finalAct(_ v: String) -> String { step.activation?.apply(v, lang) ?? v }

    /// The statements storing `value` + the residual at flat output index `index` into `target`
    /// (the activation after the sum, as the separate Add computed it), or `value` activated
    /// without a residual.
    func withResidual(_ target: String, _ value: String, index: String) -> [Stmt] {
        guard let r = step.residual else { return [.set(target, act(value))] }
        return [.let_("v", "\(value) + \(x(r))[\(index)]"), .set(target, finalAct("v"))]
    }

    /// `ptr[i] = activation(ptr[i] + residual[i])` over `count` elements: the residual of a
    /// kernel that writes its output before it can add it.
    func residualSweep(_ ptr: String, count: Int) {
        guard let r = step.residual else { return }
        emit(.loop("i", count, [.let_("v", "\(ptr)[i] + \(x(r))[i]"), .set("\(ptr)[i]", finalAct("v"))]))
    }

    func emit(_ s: Stmt) { body.append(s) }
    func emit(_ ss: [Stmt]) { body += ss }

    /// A sweep applying the step's activation over `count` elements of `ptr`; with `clampDone`,
    /// only when it is not a clamp (clamps run inside the GEMM helpers).
    func activationSweep(_ ptr: String, count: Int, clampDone: Bool = false) {
        guard step.residual == nil, let a = step.activation, !(clampDone && a.clamp != nil) else { return }
        emit(.loop("i", count, [.let_("v", "\(ptr)[i]"), .set("\(ptr)[i]", a.apply("v", lang))]))
    }

    /// Clamp bounds for GEMM calls: the activation's when it is a clamp (and no residual follows),
    /// else ±infinity.
    var clampArgs: [String] {
        let c = (step.residual == nil ? step.activation?.clamp : nil) ?? (-.infinity, .infinity)
        return [lang.f(c.lo), lang.f(c.hi)]
    }
}
