// Assembly: a lowered program with its kernels generated, weights laid out and arena planned —
// everything the C and Swift printers share.

import IR

/// An error of the backend, naming the node when there is one.
public struct BackendError: Error, CustomStringConvertible {
    public var message: String
    public var node: String?

    public init(_ message: String, node: String? = nil) {
        self.message = message
        self.node = node
    }

    public var description: String { node.map { "node '\($0)': \(message)" } ?? message }
}

/// Where a value's data lives at run time.
enum Storage: Equatable {
    case input(Int)
    case weights(Int)
    case arena(Int)
}

struct Assembly {
    let program: Program
    let kernels: [KernelBuilder]
    let weights: WeightTable
    let plan: MemoryPlan
    /// Floats of all step outputs (every activation, without reuse), scratch excluded.
    let activationFloats: Int
    /// Floats of the largest step's scratch (im2col columns, padded planes).
    var scratchFloats: Int { kernels.map(\.scratchFloats).max() ?? 0 }
    /// Storage of every value a kernel or the final copy reads, by root name.
    let storage: [String: Storage]

    init(graph: Graph, lang: Language, options: EmitOptions) throws {
        try self.init(program: try Lowering.lower(graph), lang: lang, options: options)
    }

    /// Assembles a lowered program. Each of `contiguous` (value lists, from `ContiguousLayout`)
    /// is laid out back to back in one arena block alive from its first member's step to its last
    /// member's last use, so a view of the whole run (a concat) costs no copy. Residual Adds are
    /// folded into the convolutions that feed them first (`ResidualFusion`).
    init(program: Program, lang: Language, options: EmitOptions, contiguous: [[String]] = []) throws {
        let program = ResidualFusion.fuse(program, keep: Set(contiguous.joined()))
        for (name, t) in program.constants where t.isElided {
            throw BackendError("constant '\(name)' has no data (parsed from elided text)")
        }
        let weights = WeightTable()
        var kernels: [KernelBuilder] = []
        for step in program.steps {
            let k = KernelBuilder(lang: lang, step: step, program: program, weights: weights, options: options)
            do { try k.generate() } catch let e as BackendError {
                throw BackendError(e.message, node: e.node ?? step.name)
            }
            kernels.append(k)
        }
        // Storage: inputs by position, constants in the weight table (plain layout), the rest in the arena.
        var storage: [String: Storage] = [:]
        for (i, name) in program.inputs.enumerated() { storage[name] = .input(i) }
        var reads: [String] = []
        for (k, step) in zip(kernels, program.steps) {
            for case .input(let i) in k.params { reads.append(program.root(step.inputs[i])) }
        }
        reads += program.outputs.map(program.root)
        for r in reads where storage[r] == nil {
            if let t = program.constants[r] { storage[r] = .weights(weights.offset("\(r)#plain") { t.scalars }) }
        }
        var lastUse: [String: Int] = [:]
        for (i, k) in kernels.enumerated() {
            for case .input(let j) in k.params { lastUse[program.root(program.steps[i].inputs[j])] = i }
        }
        for o in program.outputs { lastUse[program.root(o)] = program.steps.count }
        var requests: [BufferRequest] = []
        var activations = 0
        let runOf = Dictionary(contiguous.enumerated().flatMap { r, vs in vs.map { ($0, r) } }, uniquingKeysWith: { a, _ in a })
        var runs = contiguous.indices.map { BufferRequest(id: "#run\($0)", size: 0, first: Int.max, last: 0) }
        for (i, (k, step)) in zip(kernels, program.steps).enumerated() {
            for out in step.outputs {
                let n = program.count(out)
                let request = BufferRequest(id: out, size: n, first: i, last: max(i, lastUse[out] ?? i))
                activations += n
                if let r = runOf[out] {
                    runs[r].size += n
                    runs[r].first = min(runs[r].first, request.first)
                    runs[r].last = max(runs[r].last, request.last)
                    continue
                }
                requests.append(request)
            }
            if k.scratchFloats > 0 {
                requests.append(BufferRequest(id: "#scratch\(i)", size: k.scratchFloats, first: i, last: i))
            }
        }
        requests += runs.filter { $0.first <= $0.last }
        let plan = MemoryPlanner.plan(requests)
        for r in requests where !r.id.hasPrefix("#") { storage[r.id] = .arena(plan.offsets[r.id]!) }
        for (r, members) in contiguous.enumerated() {
            guard var offset = plan.offsets["#run\(r)"] else { continue }
            for v in members {
                storage[v] = .arena(offset)
                offset += program.count(v)
            }
        }
        self.program = program
        self.kernels = kernels
        self.weights = weights
        self.plan = plan
        self.activationFloats = activations
        self.storage = storage
    }

    /// Storage of a value (through views).
    func place(_ value: String) -> Storage { storage[program.root(value)]! }

    /// Arena offset of step `i`'s scratch.
    func scratchOffset(_ i: Int) -> Int { plan.offsets["#scratch\(i)"]! }

    var helpers: Set<String> { kernels.reduce(into: Set<String>()) { $0.formUnion($1.helpers) } }
}
