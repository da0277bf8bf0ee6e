// Interpreter: runs an IR graph on concrete inputs, binding the symbolic batch from them.
import Dispatch
import IR
import Passes

/// The reference executor of the IR: runs a graph's nodes in order on float32 tensors.
///
/// Construction compiles the graph once: (unless `fuseOperators` is off) it runs the `lower` pass
/// pipeline, which folds a BatchNormalization into the Conv or Gemm before it and fuses an
/// activation into the op before it; then values become numbered slots and constants are
/// preloaded, and (with `fuseOperators`) a residual block's Add is folded into the convolution
/// whose output only it reads. An op's fused activation runs inside its kernel. Intermediate
/// values are freed after their last reader. At batch > 1, convolution chains keep their data
/// channel-major (CNHW) internally; inputs and outputs are always NCHW.
///
/// `run` checks the inputs against the graph's declared types: every input present, ranks and
/// fixed dimensions equal, and each symbolic dimension (the batch) one size across all inputs.
public struct Interpreter: Sendable {
    /// Choices that change how, not what, the interpreter computes.
    public struct Options: Sendable {
        /// Run the `lower` pass pipeline first (fold-batchnorm, fuse-activation into every
        /// producer). Results differ from the unlowered ones only by float rounding.
        public var fuseOperators: Bool
        /// At batch > 1, keep convolution outputs channel-major (CNHW) through the ops that allow
        /// it, so that one GEMM covers many images without copies. Results are the same.
        public var batchLayout: Bool

        public init(fuseOperators: Bool = true, batchLayout: Bool = true) {
            self.fuseOperators = fuseOperators
            self.batchLayout = batchLayout
        }
    }

    /// The graph being run.
    public let graph: Graph
    public let options: Options
    let plan: Plan

    /// Compiles `graph` for execution. Throws if the graph does not verify or has elided constants.
    public init(graph: Graph, options: Options = .init()) throws {
        do {
            try Verifier.verify(graph)
        } catch let error as IRError {
            throw RuntimeError("the graph does not verify: \(error.description)")
        }
        RuntimeMemory.configure()
        self.graph = graph
        self.options = options
        let executed: Graph
        do {
            executed = options.fuseOperators ? try Lower.lowered(graph) : graph
        } catch {
            throw RuntimeError("the `\(Lower.name)` pipeline (\(Lower.pipeline)) failed: \(error)")
        }
        self.plan = try Plan(graph: executed, fuseResidualAdds: options.fuseOperators)
    }

    /// The graph's inputs, in order, with their declared types.
    public var inputs: [GraphInput] { graph.inputs }

    /// Runs the graph and returns every graph output by name.
    public func run(_ inputs: [String: Tensor]) throws -> [String: Tensor] {
        try run(inputs, observe: nil)
    }

    /// Runs the graph, calling `observe(step index, seconds)` after each step when given.
    func run(_ inputs: [String: Tensor], observe: ((Int, Double) -> Void)?) throws -> [String: Tensor] {
        var slots = plan.constants
        let symbols = try bindInputs(inputs, into: &slots)
        // Values a convolution wrote CNHW (see LayoutDispatch); everything else is NCHW.
        var cnhw = [Bool](repeating: false, count: slots.count)
        for (index, step) in plan.steps.enumerated() {
            let start = observe == nil ? 0 : DispatchTime.now().uptimeNanoseconds
            var args: [StoredTensor] = []
            args.reserveCapacity(step.inputs.count)
            for s in step.inputs {
                guard let t = slots[s] else {
                    throw RuntimeError.node(step.name, "value '\(plan.slotNames[s])' is not available")
                }
                args.append(StoredTensor(tensor: t, layout: cnhw[s] ? .cnhw : .nchw))
            }
            let shapes = step.outputTypes.map { resolve($0, symbols) }
            let (results, layout) = Self.execute(step, args, outputShapes: shapes, batchLayout: options.batchLayout)
            args.removeAll()
            for (s, t) in zip(step.outputs, results) {
                slots[s] = t
                cnhw[s] = layout == .cnhw
            }
            for s in step.releases { slots[s] = nil }
            if let observe { observe(index, Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9) }
        }
        var outputs: [String: Tensor] = [:]
        for output in plan.outputSlots {
            guard let t = slots[output.slot] else {
                throw RuntimeError("graph output '\(output.name)' was not computed")
            }
            outputs[output.name] = StoredTensor(tensor: t, layout: cnhw[output.slot] ? .cnhw : .nchw).nchw
        }
        return outputs
    }

    /// Runs one step: its op, then the residual Add folded into it (in the convolution's kernel
    /// when it can take it).
    private static func execute(_ step: Step, _ args: [StoredTensor], outputShapes: [[Int]],
                                batchLayout: Bool) -> ([Tensor], DataLayout) {
        func run(_ op: Op, _ args: [StoredTensor]) -> ([Tensor], DataLayout) {
            batchLayout ? Kernels.execute(op, args, outputShapes: outputShapes)
                : (Kernels.execute(op, args.map(\.tensor), outputShapes: outputShapes), .nchw)
        }
        guard let add = step.residualAdd, let residual = args.last else { return run(step.op, args) }
        let convArgs = Array(args.dropLast())
        if batchLayout, case .conv(let a) = step.op,
           let y = Kernels.sameConvAdding(convArgs[0], weight: convArgs[1].tensor,
                                          bias: convArgs.count > 2 ? convArgs[2].tensor : nil, attributes: a,
                                          residual: residual, outputShape: outputShapes[0], activation: add.activation) {
            return ([y], .cnhw)
        }
        let (conv, layout) = run(step.op, convArgs)
        return run(add, [StoredTensor(tensor: conv[0], layout: layout), residual])
    }

    /// Runs a graph with one input and returns its first output: a convenience for single-input
    /// classifiers.
    public func run(_ input: Tensor) throws -> Tensor {
        guard graph.inputs.count == 1, let name = graph.inputs.first?.name else {
            throw RuntimeError("the graph has \(graph.inputs.count) inputs; name them: run([name: tensor])")
        }
        let outputs = try run([name: input])
        guard let first = graph.outputs.first, let y = outputs[first] else {
            throw RuntimeError("the graph has no outputs")
        }
        return y
    }

    /// Checks the given inputs against the declared ones, stores them in their slots, and
    /// returns the size bound to each symbolic dimension.
    private func bindInputs(_ inputs: [String: Tensor], into slots: inout [Tensor?]) throws -> [String: Int] {
        let expected = Set(plan.inputSlots.map(\.name))
        if let unknown = inputs.keys.sorted().first(where: { !expected.contains($0) }) {
            let names = plan.inputSlots.map { "'\($0.name)'" }.joined(separator: ", ")
            throw RuntimeError.input(unknown, "the model has no such input (its inputs: \(names))")
        }
        var symbols: [String: Int] = [:]
        for input in plan.inputSlots {
            guard let t = inputs[input.name] else {
                throw RuntimeError.input(input.name, "missing; the model expects \(input.type)")
            }
            guard !t.isElided else { throw RuntimeError.input(input.name, "has no data") }
            guard t.shape.count == input.type.rank else {
                throw RuntimeError.input(input.name, "has shape \(t.shape) (rank \(t.shape.count)); the model expects \(input.type)")
            }
            for (i, d) in input.type.dims.enumerated() {
                switch d {
                case .fixed(let v):
                    guard t.shape[i] == v else {
                        throw RuntimeError.input(input.name, "has shape \(t.shape); the model expects \(input.type) (dimension \(i) must be \(v))")
                    }
                case .symbol(let s):
                    if let bound = symbols[s], bound != t.shape[i] {
                        throw RuntimeError.input(input.name, "has \(s) = \(t.shape[i]), but another input gave \(s) = \(bound)")
                    }
                    symbols[s] = t.shape[i]
                }
            }
            slots[input.slot] = t
        }
        return symbols
    }

    private func resolve(_ type: TensorType, _ symbols: [String: Int]) -> [Int] {
        type.dims.map { d in
            switch d {
            case .fixed(let v): return v
            case .symbol(let s): return symbols[s] ?? 0
            }
        }
    }
}
