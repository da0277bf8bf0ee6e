// StageCost: MACs and parameters of each stage of a staged graph, and each exit's cumulative MACs.

/// What each stage of a staged graph computes, and what leaving at each exit costs.
public struct StageCostReport: Hashable, Sendable {
    /// Per stage (index s−1): MACs, parameters and other ops of its nodes.
    public var stages: [NodeCost]
    /// Per stage (index s−1): the MACs of stages 1…s, what a sample leaving after stage s cost.
    public var cumulativeMACs: [Int]
    /// The static model's MACs and parameters (from the stage table).
    public var staticMACs: Int
    public var staticParameters: Int

    /// The cumulative MACs of exit `stage` (1-based).
    public func exitMACs(_ stage: Int) -> Int { cumulativeMACs[stage - 1] }
}

extension CostModel {
    /// The per-stage cost of a staged graph at batch `batch` (DESIGN: "Cost"). A stage's MACs are
    /// its nodes' MACs under the per-node rules, so each staged weighted layer counts exactly the
    /// (output, input) channel pairs it computes, and the classifier's columns once each. A
    /// stage's parameters are the elements of the constant slices it reads, plus each constant
    /// read whole, counted at the first stage that reads it. Exit s costs stages 1…s.
    public static func stageReport(_ graph: Graph, batch: Int = 1) throws -> StageCostReport {
        guard let info = graph.stageInfo else { throw IRError("the graph has no stages (run split-stages)") }
        var stages = Array(repeating: NodeCost(), count: info.stageCount)
        var counted = Set<String>()
        for node in graph.nodes {
            guard let s = node.staging?.stage, (1...info.stageCount).contains(s) else {
                throw IRError("has no stage in a staged graph", node: node.name)
            }
            var cost = try cost(of: node, in: graph, batch: batch)
            var parameters = 0
            if case .slice = node.op, graph.constants[node.inputs[0]] != nil {
                parameters = try graph.type(of: node.outputs[0]).elementCount()
            } else {
                for name in node.inputs where graph.constants[name] != nil && counted.insert(name).inserted {
                    parameters += try graph.type(of: name).elementCount()
                }
            }
            cost.parameters = parameters
            stages[s - 1].macs += cost.macs
            stages[s - 1].parameters += cost.parameters
            stages[s - 1].otherOps += cost.otherOps
        }
        var cumulative: [Int] = []
        var total = 0
        for s in stages {
            total += s.macs
            cumulative.append(total)
        }
        return StageCostReport(stages: stages, cumulativeMACs: cumulative, staticMACs: info.staticMACs,
                               staticParameters: info.staticParameters)
    }
}
