// GraphChecks: structural checks of an ONNX graph before import — single definition, defined inputs, topological order, cycles.

/// Checks that every value is defined once, that every node input and graph output is defined,
/// and that nodes come in topological order (as ONNX requires), telling a cycle from a mere
/// ordering mistake.
enum GraphChecks {
    /// At most this many problems of one kind are listed in a message.
    static let listLimit = 10

    static func check(_ g: ONNXGraph, names: [String], file: String) throws {
        func fail(_ message: String) -> ONNXError { ONNXError(file: file, message) }

        // Values defined before any node: graph inputs and initializers (one name may be both).
        var external = Set<String>()
        var seenInputs = Set<String>(), seenInitializers = Set<String>()
        for i in g.inputs {
            guard !i.name.isEmpty else { throw fail("a graph input has an empty name") }
            guard seenInputs.insert(i.name).inserted else { throw fail("graph input '\(i.name)' is declared twice") }
            external.insert(i.name)
        }
        for t in g.initializers {
            guard !t.name.isEmpty else { throw fail("an initializer has an empty name") }
            guard seenInitializers.insert(t.name).inserted else { throw fail("initializer '\(t.name)' is defined twice") }
            external.insert(t.name)
        }

        var producer: [String: Int] = [:]
        for (i, node) in g.nodes.enumerated() {
            for out in node.outputs where !out.isEmpty {
                if external.contains(out) {
                    throw fail("value '\(out)' is defined twice: as a graph input or initializer and by node '\(names[i])'")
                }
                if let j = producer[out] {
                    throw fail(j == i ? "node '\(names[i])' lists output '\(out)' twice"
                                      : "value '\(out)' is defined twice: by node '\(names[j])' and node '\(names[i])'")
                }
                producer[out] = i
            }
        }

        var undefined: [String] = []
        var late: [(node: Int, value: String, producer: Int)] = []
        for (i, node) in g.nodes.enumerated() {
            for input in node.inputs where !input.isEmpty && !external.contains(input) {
                guard let j = producer[input] else {
                    undefined.append("node '\(names[i])' (\(node.opType)) reads '\(input)'")
                    continue
                }
                if j >= i { late.append((i, input, j)) }
            }
        }
        for out in g.outputs where !external.contains(out.name) && producer[out.name] == nil {
            undefined.append("graph output '\(out.name)'")
        }
        if !undefined.isEmpty {
            throw fail("values that nothing defines: " + listed(undefined))
        }
        guard !late.isEmpty else { return }
        if let cycle = findCycle(g, producer: producer, external: external) {
            let path = (cycle + [cycle[0]]).map { "'\(names[$0])'" }.joined(separator: " → ")
            throw fail("the graph has a cycle: node \(path) (each reads an output of the next)")
        }
        let described = late.map { "node '\(names[$0.node])' reads '\($0.value)' before node '\(names[$0.producer])' defines it" }
        throw fail("nodes are not in topological order, as ONNX requires: " + listed(described))
    }

    private static func listed(_ items: [String]) -> String {
        var text = items.prefix(listLimit).joined(separator: "; ")
        if items.count > listLimit { text += "; and \(items.count - listLimit) more" }
        return text
    }

    /// A cycle in the dependency graph (node → producers of its inputs), as node indices, or nil.
    /// Iterative depth-first search, so deep graphs cannot overflow the stack.
    private static func findCycle(_ g: ONNXGraph, producer: [String: Int], external: Set<String>) -> [Int]? {
        let deps: [[Int]] = g.nodes.map { node in
            node.inputs.compactMap { $0.isEmpty || external.contains($0) ? nil : producer[$0] }
        }
        enum State { case new, active, done }
        var state = [State](repeating: .new, count: g.nodes.count)
        for root in g.nodes.indices where state[root] == .new {
            // Stack of (node, next dependency to visit); the active path is the stack's nodes.
            var stack: [(node: Int, next: Int)] = [(root, 0)]
            state[root] = .active
            while let top = stack.last {
                if top.next < deps[top.node].count {
                    stack[stack.count - 1].next += 1
                    let d = deps[top.node][top.next]
                    switch state[d] {
                    case .new:
                        state[d] = .active
                        stack.append((d, 0))
                    case .active:
                        let path = stack.map(\.node)
                        guard let start = path.firstIndex(of: d) else { return [d] }
                        return Array(path[start...])
                    case .done:
                        break
                    }
                } else {
                    state[top.node] = .done
                    stack.removeLast()
                }
            }
        }
        return nil
    }
}
