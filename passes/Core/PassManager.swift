// PassManager: runs a pipeline of passes, verifying, printing and counting what each one changed.

import IR

/// What one pass did: changes counted by the graph's mutation API, sizes before and after, time.
public struct PassStatistics: Equatable, Sendable {
    public var pass: String
    /// Mutations applied (`Graph.changeCount` delta, or what a plugin pass reported).
    public var changes: Int
    public var nodesBefore: Int
    public var nodesAfter: Int
    public var constantsBefore: Int
    public var constantsAfter: Int
    /// Wall-clock seconds the pass took.
    public var seconds: Double
    /// What the pass reported about its result (an analysis's findings), if anything.
    public var report: String? = nil

    /// A table of statistics, one row per pass, as `s2dc opt --stats` prints it.
    public static func table(_ rows: [PassStatistics]) -> String {
        let header = ["pass", "changes", "nodes", "constants", "time (ms)"]
        let body = rows.map { r in
            [r.pass, String(r.changes), "\(r.nodesBefore) -> \(r.nodesAfter)",
             "\(r.constantsBefore) -> \(r.constantsAfter)", String(format3(r.seconds * 1000))]
        }
        var widths = header.map(\.count)
        for row in body { for (i, cell) in row.enumerated() { widths[i] = max(widths[i], cell.count) } }
        func line(_ cells: [String]) -> String {
            cells.enumerated().map { i, c in
                i == 0 ? c + String(repeating: " ", count: widths[i] - c.count)
                       : String(repeating: " ", count: widths[i] - c.count) + c
            }.joined(separator: "  ")
        }
        return ([line(header)] + body.map(line)).joined(separator: "\n") + "\n"
    }

    private static func format3(_ x: Double) -> String {
        let scaled = (x * 1000).rounded() / 1000
        return String(scaled)
    }
}

/// Runs passes in order on a graph.
///
/// With `verifyEach`, the verifier checks the input and the graph after every pass, and a failure
/// names the pass that broke it. `afterPass` is called with each pass's name and result (for
/// `--print-ir-after-all`).
public struct PassManager {
    public var passes: [ConfiguredPass]
    public var verifyEach: Bool
    /// Called after each pass (after verification) with the pass's pipeline text and the graph.
    public var afterPass: ((String, Graph) -> Void)?

    public init(passes: [ConfiguredPass] = [], verifyEach: Bool = false) {
        self.passes = passes
        self.verifyEach = verifyEach
    }

    /// A manager for a pipeline text such as `"fold-constants,fuse-activation,dce"`.
    public init(pipeline: String, registry: PassRegistry = .shared, verifyEach: Bool = false) throws {
        self.init(passes: try PipelineParser.parse(pipeline, registry: registry), verifyEach: verifyEach)
    }

    /// Appends a pass.
    public mutating func add(_ pass: ConfiguredPass) { passes.append(pass) }

    /// Appends a pass type with its default options (or `options`).
    public mutating func add<P: Pass>(_ type: P.Type, options: [String: PassOptionValue] = [:]) throws {
        passes.append(try PassDescriptor(type).instantiate(options))
    }

    /// Runs every pass on `graph` and returns the statistics of each.
    @discardableResult
    public func run(_ graph: inout Graph) throws -> [PassStatistics] {
        if verifyEach { try verify(graph, after: nil) }
        var stats: [PassStatistics] = []
        let clock = ContinuousClock()
        for pass in passes {
            let before = (changes: graph.changeCount, nodes: graph.nodes.count, constants: graph.constantNames.count)
            let start = clock.now
            let reported: Int?
            do {
                reported = try pass.body(&graph)
            } catch let error as PassError {
                throw PassError("pass '\(pass.name)' failed: \(error.message)")
            } catch {
                throw PassError("pass '\(pass.name)' failed: \(error)")
            }
            let elapsed = clock.now - start
            let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
            if verifyEach { try verify(graph, after: pass.name) }
            stats.append(PassStatistics(pass: pass.name, changes: reported ?? (graph.changeCount - before.changes),
                                        nodesBefore: before.nodes, nodesAfter: graph.nodes.count,
                                        constantsBefore: before.constants, constantsAfter: graph.constantNames.count,
                                        seconds: seconds, report: pass.report?(graph)))
            afterPass?(pass.pipelineText, graph)
        }
        return stats
    }

    private func verify(_ graph: Graph, after pass: String?) throws {
        do {
            try Verifier.verify(graph)
        } catch {
            let when = pass.map { "after pass '\($0)'" } ?? "on the input graph"
            throw PassError("verifier failed \(when): \(error)")
        }
    }
}
