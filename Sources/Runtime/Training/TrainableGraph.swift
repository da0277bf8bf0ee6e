// TrainableGraph: an IR graph compiled for training: forward passes that keep what backward needs.
import IR

/// An IR graph prepared for training: its trainable parameters, BatchNormalization running
/// statistics, and a forward/backward executor over them.
///
/// **Trainable parameters** are the float constants read by Conv (weight, bias), Gemm (A, B, C),
/// MatMul, BatchNormalization (scale, bias) and Add/Sub/Mul/Div. BatchNormalization's mean and
/// variance constants are *buffers*: a training-mode forward updates them with the batch
/// statistics (running = momentum · running + (1 − momentum) · batch, variance unbiased, as in
/// PyTorch). Every other constant is frozen.
///
/// Values are kept for the whole forward pass (a `Tape`), so memory grows with the batch; the
/// backward pass reads them and then lets them go.
public final class TrainableGraph {
    /// How a forward pass runs BatchNormalization and Dropout.
    public enum Mode: Sendable {
        /// Batch statistics (running statistics updated), dropout active.
        case training
        /// Running statistics, dropout off: the function the exported model computes.
        case inference
        /// Batch statistics with the running statistics left as they are, dropout off: a
        /// teacher's pass (a supernet configuration's own statistics on this batch, which running
        /// statistics shared by every configuration do not hold).
        case batchStatistics
    }

    /// The graph as compiled; `exportGraph()` returns it with the current weights.
    public let graph: Graph
    /// Trainable parameter names, in order of definition.
    public let parameterNames: [String]
    /// The current value of every trainable parameter.
    public var parameters: [String: Tensor]
    /// BatchNormalization running-statistics names, in order of definition.
    public let bufferNames: [String]
    /// The current running statistics.
    public var buffers: [String: Tensor]
    /// The momentum of the running statistics (ONNX's default 0.9).
    public var batchNormMomentum: Float = 0.9
    /// When set, forward and backward passes add each node's time to it.
    public var profile: TrainingProfile?

    let steps: [TrainingStep]
    let slotNames: [String]
    let slotOf: [String: Int]
    let inputSlots: [(name: String, slot: Int, type: TensorType)]
    let frozen: [(slot: Int, tensor: Tensor)]
    /// Running statistics read through a slice (per-piece BatchNormalization of a staged graph):
    /// the buffer they belong to and the first channel, so the update lands in the buffer's rows.
    let statisticSlices: [String: (buffer: String, start: Int)]
    /// Relu/Clip steps whose input is a BatchNormalization's output read by nothing else: the
    /// step index of that BatchNormalization. Backward applies the activation's mask inside the
    /// BatchNormalization's backward (one pass less over the gradient, same values).
    let maskedBatchNorm: [Int: Int]

    /// Compiles `graph` for training. Throws for graphs that do not verify, elided constants, or
    /// ops the engine cannot differentiate (naming the node).
    ///
    /// - Parameter only: when given, only these constants train and every other one is frozen
    ///   (e.g. `Graph.depthHeadConstants()`: a depth exit's heads on a frozen backbone, SDN's
    ///   setting). Each must be a constant that would train; a name that is not is an error.
    public init(graph: Graph, trainingOnly only: Set<String>? = nil) throws {
        do { try Verifier.verify(graph) } catch let error as IRError {
            throw RuntimeError("the graph does not verify: \(error.description)")
        }
        self.graph = graph
        // Every step allocates its values anew: keep freed memory in the process (no page faults).
        RuntimeMemory.configure()
        var slotOf: [String: Int] = [:]
        var names: [String] = []
        func slot(_ name: String) -> Int {
            if let s = slotOf[name] { return s }
            slotOf[name] = names.count
            names.append(name)
            return names.count - 1
        }
        var inputs: [(name: String, slot: Int, type: TensorType)] = []
        for input in graph.inputs { inputs.append((input.name, slot(input.name), input.type)) }
        var trainable = Set<String>(), stats = Set<String>()
        var statisticSlices: [String: (buffer: String, start: Int)] = [:]
        var steps: [TrainingStep] = []
        // A slice of a constant (a staged graph's weight block) trains or tracks that constant.
        var sliceOf: [String: (constant: String, start: Int)] = [:]
        for node in graph.nodes {
            try TrainingStep.checkSupported(node, graph: graph)
            if case .slice(let starts, _, let axes, _) = node.op, graph.constants[node.inputs[0]] != nil {
                let start = axes.count == 1 && axes[0] == 0 ? starts[0] : -1
                sliceOf[node.outputs[0]] = (node.inputs[0], start)
            }
            for (i, input) in node.inputs.enumerated() {
                guard let root = graph.constants[input] != nil ? input : sliceOf[input]?.constant else { continue }
                switch (node.op, i) {
                case (.batchNormalization, 3), (.batchNormalization, 4):
                    stats.insert(root)
                    if root != input {
                        guard let start = sliceOf[input]?.start, start >= 0 else {
                            throw RuntimeError.node(node.name, "running statistic '\(input)' is a slice of '\(root)' on an axis other than 0")
                        }
                        statisticSlices[input] = (root, start)
                    }
                case (.conv, _), (.gemm, _), (.matMul, _), (.batchNormalization, _), (.add, _), (.sub, _), (.mul, _), (.div, _):
                    trainable.insert(root)
                default: break
                }
            }
            let ins = node.inputs.map(slot)
            let out = slot(node.outputs[0])
            steps.append(TrainingStep(name: node.name, op: node.op, inputs: ins, output: out,
                                      outputType: try graph.type(of: node.outputs[0])))
        }
        for c in graph.constantNames where graph.constants[c]?.isElided == true {
            throw RuntimeError("constant '\(c)' has no data (elided); training needs the weights")
        }
        // A constant that is both a statistic and a trained input stays a statistic.
        trainable.subtract(stats)
        if let only {
            if let bad = only.sorted().first(where: { !trainable.contains($0) }) {
                throw RuntimeError("'\(bad)' is not a trainable constant of the graph (trainable: the weights of conv, gemm, matmul, batch_norm and arithmetic nodes)")
            }
            trainable = only
        }
        parameterNames = graph.constantNames.filter { trainable.contains($0) }
        bufferNames = graph.constantNames.filter { stats.contains($0) }
        var params: [String: Tensor] = [:], buffers: [String: Tensor] = [:]
        var frozen: [(slot: Int, tensor: Tensor)] = []
        for c in graph.constantNames {
            guard let t = graph.constants[c] else { continue }
            if trainable.contains(c) { params[c] = t } else if stats.contains(c) { buffers[c] = t } else { frozen.append((slot(c), t)) }
        }
        for o in graph.outputs { _ = slot(o) }
        var readers = [Int](repeating: 0, count: names.count)
        for step in steps { for i in step.inputs { readers[i] += 1 } }
        for o in graph.outputs { if let s = slotOf[o] { readers[s] += 1 } }
        var producer: [Int: Int] = [:]
        for (i, step) in steps.enumerated() { producer[step.output] = i }
        var maskedBatchNorm: [Int: Int] = [:]
        for (i, step) in steps.enumerated() where ActivationMask(step.op) != nil {
            guard let input = step.inputs.first, readers[input] == 1, let p = producer[input],
                  case .batchNormalization = steps[p].op else { continue }
            maskedBatchNorm[i] = p
        }
        self.maskedBatchNorm = maskedBatchNorm
        self.parameters = params
        self.buffers = buffers
        self.steps = steps
        self.slotNames = names
        self.slotOf = slotOf
        self.inputSlots = inputs
        self.frozen = frozen
        self.statisticSlices = statisticSlices
    }

    /// The number of trainable scalars.
    public var parameterCount: Int { parameterNames.reduce(0) { $0 + (parameters[$1]?.count ?? 0) } }

    /// The graph with its constants replaced by the current parameters and running statistics.
    public func exportGraph() throws -> Graph {
        var g = graph
        for name in parameterNames { if let t = parameters[name] { try g.replaceConstant(name, with: t) } }
        for name in bufferNames { if let t = buffers[name] { try g.replaceConstant(name, with: t) } }
        return g
    }

    /// Runs the graph forward. In training mode the running statistics are updated and dropout
    /// masks drawn from `rng`. The returned tape holds every value, for `backward`.
    public func forward(_ inputs: [String: Tensor], mode: Mode, rng: inout TrainingRNG) throws -> Tape {
        var values = [Tensor?](repeating: nil, count: slotNames.count)
        for (s, t) in frozen { values[s] = t }
        for name in parameterNames { if let s = slotOf[name] { values[s] = parameters[name] } }
        for name in bufferNames { if let s = slotOf[name] { values[s] = buffers[name] } }
        var symbols: [String: Int] = [:]
        for input in inputSlots {
            guard let t = inputs[input.name] else {
                throw RuntimeError.input(input.name, "missing; the model expects \(input.type)")
            }
            guard t.shape.count == input.type.rank else {
                throw RuntimeError.input(input.name, "has shape \(t.shape); the model expects \(input.type)")
            }
            for (i, d) in input.type.dims.enumerated() {
                switch d {
                case .fixed(let v) where t.shape[i] != v:
                    throw RuntimeError.input(input.name, "has shape \(t.shape); the model expects \(input.type) (dimension \(i) must be \(v))")
                case .symbol(let s): symbols[s] = t.shape[i]
                default: break
                }
            }
            values[input.slot] = t
        }
        var saved = [SavedState](repeating: .none, count: steps.count)
        for (index, step) in steps.enumerated() {
            let args = try step.inputs.map { s -> Tensor in
                guard let t = values[s] else { throw RuntimeError.node(step.name, "value '\(slotNames[s])' is not available") }
                return t
            }
            let shape = step.outputType.dims.map { d -> Int in
                switch d {
                case .fixed(let v): return v
                case .symbol(let s): return symbols[s] ?? 0
                }
            }
            let (y, state): (Tensor, SavedState)
            if let profile {
                (y, state) = profile.time("forward " + TrainingProfile.label(step.op)) {
                    step.forward(args, outputShape: shape, mode: mode, rng: &rng, momentum: batchNormMomentum)
                }
            } else {
                (y, state) = step.forward(args, outputShape: shape, mode: mode, rng: &rng, momentum: batchNormMomentum)
            }
            values[step.output] = y
            saved[index] = state
            if case .batchNorm(_, _, let mean, let variance) = state, mode == .training {
                // Elements per channel: N × spatial size.
                updateRunningStatistics(step, mean: mean, variance: variance, count: y.count / max(1, mean.count))
            }
        }
        return Tape(values: values, saved: saved, mode: mode)
    }

    private func updateRunningStatistics(_ step: TrainingStep, mean: [Float], variance: [Float], count: Int) {
        let m = batchNormMomentum
        let unbias = count > 1 ? Float(count) / Float(count - 1) : 1
        let meanName = slotNames[step.inputs[3]], varName = slotNames[step.inputs[4]]
        func update(_ name: String, _ batch: [Float], _ factor: Float) {
            let (buffer, start) = statisticSlices[name] ?? (name, 0)
            guard var r = buffers[buffer], start + batch.count <= r.count else { return }
            buffers[buffer] = nil  // unique storage: update in place
            for c in batch.indices { r.scalars[start + c] = m * r.scalars[start + c] + (1 - m) * batch[c] * factor }
            buffers[buffer] = r
        }
        update(meanName, mean, 1)
        update(varName, variance, unbias)
    }

    /// The value `name` as the forward pass left it on `tape`.
    public func value(_ name: String, on tape: Tape) throws -> Tensor {
        guard let s = slotOf[name], let t = tape.values[s] else { throw RuntimeError("value '\(name)' was not computed") }
        return t
    }

    /// Back-propagates `outputGradients` (by graph output name) through the tape. Returns the
    /// gradient of every trainable parameter, and of each graph input listed in `inputs`.
    public func backward(_ tape: Tape, outputGradients: [String: Tensor], inputs wanted: Set<String> = []) throws -> [String: Tensor] {
        var needs = [Bool](repeating: false, count: slotNames.count)
        for name in parameterNames { if let s = slotOf[name] { needs[s] = true } }
        for name in wanted { if let s = slotOf[name] { needs[s] = true } }
        for step in steps where step.inputs.contains(where: { needs[$0] }) { needs[step.output] = true }

        var grads = [Tensor?](repeating: nil, count: slotNames.count)
        for (name, g) in outputGradients {
            guard let s = slotOf[name] else { throw RuntimeError("'\(name)' is not a value of the graph") }
            accumulate(&grads[s], g)
        }
        var masks = [ActivationMask?](repeating: nil, count: slotNames.count)
        for (index, step) in steps.enumerated().reversed() {
            guard needs[step.output], let dy = grads[step.output] else { continue }
            grads[step.output] = nil
            if let bn = maskedBatchNorm[index], case .batchNorm = tape.saved[bn], let mask = ActivationMask(step.op) {
                // The gradient passes to the BatchNormalization's output as is; its backward masks it.
                let s = steps[bn].output
                accumulate(&grads[s], dy)
                masks[s] = mask
                continue
            }
            let args = try step.inputs.map { s -> Tensor in
                guard let t = tape.values[s] else { throw RuntimeError.node(step.name, "value '\(slotNames[s])' is missing from the tape") }
                return t
            }
            guard let y = tape.values[step.output] else { continue }
            let stepNeeds = step.inputs.map { needs[$0] }
            let mask = masks[step.output]
            let dx = profile?.time("backward " + TrainingProfile.label(step.op) + (mask == nil ? "" : "+act")) {
                step.backward(args, y: y, dy: dy, saved: tape.saved[index], needs: stepNeeds, activationMask: mask)
            } ?? step.backward(args, y: y, dy: dy, saved: tape.saved[index], needs: stepNeeds, activationMask: mask)
            for (s, g) in zip(step.inputs, dx) where needs[s] {
                if let g { accumulate(&grads[s], g) }
            }
        }
        var out: [String: Tensor] = [:]
        for name in parameterNames {
            guard let s = slotOf[name] else { continue }
            out[name] = grads[s] ?? Tensor(shape: parameters[name]?.shape ?? [], repeating: 0)
        }
        for name in wanted {
            guard let s = slotOf[name] else { continue }
            out[name] = grads[s] ?? Tensor(shape: tape.values[s]?.shape ?? [], repeating: 0)
        }
        return out
    }
}

/// What a forward pass leaves for the backward pass.
public struct Tape {
    var values: [Tensor?]
    var saved: [SavedState]
    /// The mode the forward pass ran in.
    public let mode: TrainableGraph.Mode
}

/// Adds `g` into an optional gradient, taking it as is when there is none yet.
func accumulate(_ slot: inout Tensor?, _ g: Tensor) {
    guard var current = slot else { slot = g; return }
    slot = nil  // drop the extra reference so the add runs in place
    current.scalars.withUnsafeMutableBufferPointer { c in
        g.scalars.withUnsafeBufferPointer { d in
            Parallel.forEachChunk(min(c.count, d.count)) { r in
                for i in r { c[i] += d[i] }
            }
        }
    }
    slot = current
}
