// CostModel: multiply-accumulates, parameters and other arithmetic per node and for a whole graph.

/// The cost of one node (or, in `CostReport.totals`, of a graph).
public struct NodeCost: Hashable, Sendable {
    /// Multiply-accumulate operations of Conv, Gemm and MatMul; 0 for every other op.
    public var macs: Int
    /// Elements of the constants the node reads (each constant once per node).
    public var parameters: Int
    /// Arithmetic that is not a MAC, counted as described in `CostModel`.
    public var otherOps: Int

    public init(macs: Int = 0, parameters: Int = 0, otherOps: Int = 0) {
        self.macs = macs
        self.parameters = parameters
        self.otherOps = otherOps
    }
}

/// One line of a cost report: a node, its op, the types it produces and what it costs.
public struct CostRow: Hashable, Sendable {
    public var node: String
    public var op: String
    public var outputTypes: [TensorType]
    public var cost: NodeCost

    public init(node: String, op: String, outputTypes: [TensorType], cost: NodeCost) {
        self.node = node
        self.op = op
        self.outputTypes = outputTypes
        self.cost = cost
    }
}

/// The cost of every node of a graph, in graph order, and the graph's totals.
public struct CostReport: Hashable, Sendable {
    /// The size a symbolic batch dimension was given.
    public var batch: Int
    public var rows: [CostRow]
    /// Sums of `macs` and `otherOps` over the rows; `parameters` counts each constant read by some
    /// node once, so it is less than the rows' sum when nodes share a constant.
    public var totals: NodeCost
}

/// Counts the work of a graph at a given batch size (a symbolic batch dimension is set to `batch`,
/// 1 by default; fixed dimensions are used as they are). The conventions, exactly:
///
/// **MACs** (multiply-accumulates), only for the ops that dominate a CNN:
/// - Conv: N·Cout·(∏ output spatial sizes)·(Cin/group)·(∏ kernel sizes), i.e. N·Cout·Hout·Wout·
///   (Cin/group)·kh·kw for 2-D. Dilation, stride and padding enter only through the output size.
/// - Gemm: M·N·K, with M, N, K after `transA`/`transB`; `alpha`, `beta` and the C term are free.
/// - MatMul: (broadcast batch product)·M·N·K, where a 1-D operand contributes M = 1 or N = 1 as
///   NumPy promotes it.
/// - Every other op: 0.
///
/// **Other ops**, a separate figure for the remaining arithmetic:
/// - Elementwise and activation ops (Add, Sub, Mul, Div, Relu, LeakyRelu, Clip, Sigmoid,
///   HardSigmoid, HardSwish), BatchNormalization, Softmax and LRN: one per output element.
/// - MaxPool and AveragePool: output elements × kernel window size (∏ kernel).
/// - GlobalAveragePool and ReduceMean: one per input element.
/// - Conv and Gemm: 0 (their bias add is not counted).
/// - A fused activation epilogue (on any op that takes one): one per output element, as the
///   standalone activation.
/// - Data movement (Reshape, Flatten, Transpose, Concat, Split, Slice, Pad) and Identity, Dropout: 0.
///
/// **Parameters**: a node's figure is the total element count of the distinct constants it reads
/// (all of them: a BatchNormalization's running mean and variance count as well as its scale and
/// bias). The graph total counts every constant that some node reads once, however many nodes
/// read it; a constant no node reads is not counted. Elided constants count by their shape.
///
/// All figures are 64-bit `Int`s; a count that would overflow is an error, not a trap.
public enum CostModel {
    /// The cost of one node of `graph` at batch size `batch`.
    public static func cost(of node: Node, in graph: Graph, batch: Int = 1) throws -> NodeCost {
        guard batch >= 1 else { throw IRError("batch size must be >= 1, got \(batch)") }
        do {
            let inputs = try node.inputs.map { try graph.type(of: $0).shape(batch: batch) }
            let outputs = try node.outputs.map { try graph.type(of: $0).shape(batch: batch) }
            var parameters = 0
            var seen = Set<String>()
            for name in node.inputs where seen.insert(name).inserted {
                if let t = graph.constants[name] { parameters = try add(parameters, try count(t.shape)) }
            }
            var cost = try arithmetic(node.op.withoutActivation, inputs: inputs, outputs: outputs)
            // A fused activation costs what the standalone op would: one per output element.
            if node.op.activation != nil, let out = outputs.first {
                cost.otherOps = try add(cost.otherOps, try count(out))
            }
            cost.parameters = parameters
            return cost
        } catch var error as IRError {
            if error.node == nil { error.node = node.name }
            throw error
        }
    }

    /// The cost of every node of `graph` and the totals, at batch size `batch`.
    public static func report(_ graph: Graph, batch: Int = 1) throws -> CostReport {
        var rows: [CostRow] = []
        var totals = NodeCost()
        var counted = Set<String>()
        for node in graph.nodes {
            let cost = try cost(of: node, in: graph, batch: batch)
            let types = try node.outputs.map { try graph.type(of: $0) }
            rows.append(CostRow(node: node.name, op: node.op.name, outputTypes: types, cost: cost))
            totals.macs = try add(totals.macs, cost.macs)
            totals.otherOps = try add(totals.otherOps, cost.otherOps)
            for name in node.inputs where counted.insert(name).inserted {
                if let t = graph.constants[name] { totals.parameters = try add(totals.parameters, try count(t.shape)) }
            }
        }
        return CostReport(batch: batch, rows: rows, totals: totals)
    }

    // MARK: Rules

    /// MACs and other ops of `op` from concrete input and output shapes (parameters left 0).
    static func arithmetic(_ op: Op, inputs: [[Int]], outputs: [[Int]]) throws -> NodeCost {
        guard let out = outputs.first, let x = inputs.first else { return NodeCost() }
        switch op {
        case .conv:
            // Weight [Cout, Cin/group, k...]: each output element takes (Cin/group)·∏k MACs.
            guard inputs.count >= 2 else { return NodeCost() }
            return NodeCost(macs: try count(out + inputs[1].dropFirst()))
        case .gemm(let a):
            guard x.count == 2 else { return NodeCost() }
            return NodeCost(macs: try count(out + [a.transA ? x[0] : x[1]]))
        case .matMul:
            // Output holds batch·M·N elements (1-D operands drop M or N); each needs K MACs.
            guard let k = x.last else { return NodeCost() }
            return NodeCost(macs: try count(out + [k]))
        case .relu, .leakyRelu, .clip, .sigmoid, .hardSigmoid, .hardSwish, .add, .sub, .mul, .div,
             .batchNormalization, .softmax, .lrn:
            return NodeCost(otherOps: try count(out))
        case .maxPool(let a), .averagePool(let a):
            return NodeCost(otherOps: try count(out + a.kernel))
        case .globalAveragePool, .reduceMean:
            return NodeCost(otherOps: try count(x))
        case .flatten, .reshape, .transpose, .concat, .split, .slice, .pad, .dropout, .identity:
            return NodeCost()
        }
    }

    /// The product of `sizes`, or an error when it overflows.
    private static func count(_ sizes: [Int]) throws -> Int {
        try ShapeInference.checkedProduct(sizes, what: "cost")
    }

    private static func add(_ a: Int, _ b: Int) throws -> Int {
        let (sum, overflow) = a.addingReportingOverflow(b)
        guard !overflow else { throw IRError("cost total overflows 64 bits") }
        return sum
    }
}
