// StagesText: the textual form of stage metadata (per-node stage, partition table, exits).

/// Printing of stage metadata; `Parser.parseStageLine` / `parseNodeStaging` read it back.
///
/// A staged node ends with ` stage = 2`, and a slice made by `split-stages` also with
/// ` ranges = [[axis, class, scale, offset, first, last], …]` (see `ChannelRange`). The graph's
/// table comes after the nodes, before `return`:
/// ```
///   stages 2 static_macs = 1000 static_parameters = 300
///   class "c1" channels = 16 boundaries = [8, 16] sliceable = false bins = [] members = ["c1", "r1"]
///   reuse_off "Conv_3"
///   classifier "Gemm_9" sums = [%logits.s1, %logits]
///   exit 1 %y.exit1 threshold = inf score = softmax
///   exit 2 %y threshold = inf score = softmax
/// ```
/// A graph with depth exits (`insert-exits{at=blocks}`) has ` axis = depth` on its `stages` line,
/// no classes or sums, and ` block = %v` (the backbone value the head reads) on each early exit;
/// one with both (width stages cut at blocks) has ` axis = width_depth blocks = B`, the classes
/// and sums of its width stages, and ` block = %v` on each depth exit.
enum StagesText {
    /// The text after a node's name.
    static func suffix(_ staging: NodeStaging) -> String {
        var s = " stage = \(staging.stage)"
        if !staging.ranges.isEmpty {
            s += " ranges = [" + staging.ranges.map { r in
                "[\(r.axis), \(r.classIndex), \(r.scale), \(r.offset), \(r.firstStage), \(r.lastStage)]"
            }.joined(separator: ", ") + "]"
        }
        return s
    }

    /// The table's lines, each indented and ending with a newline.
    static func lines(_ info: StageInfo) -> String {
        var out = "  stages \(info.stageCount) static_macs = \(info.staticMACs) static_parameters = \(info.staticParameters)"
        out += info.axis == .width ? "" : " axis = \(info.axis.rawValue)"
        out += (info.axis == .widthDepth ? " blocks = \(info.blockCount)" : "") + "\n"
        for k in info.classes {
            out += "  class " + TextPrinter.quoted(k.name) + " channels = \(k.channels) boundaries = " + ints(k.boundaries)
            out += " sliceable = \(k.sliceable) bins = " + ints(k.bins)
            out += " members = [" + k.members.map(TextPrinter.quoted).joined(separator: ", ") + "]\n"
        }
        for name in info.reuseOff { out += "  reuse_off " + TextPrinter.quoted(name) + "\n" }
        out += "  classifier " + TextPrinter.quoted(info.classifier) + " sums = ["
            + info.classifierSums.map(TextPrinter.valueReference).joined(separator: ", ") + "]\n"
        for e in info.exits {
            out += "  exit \(e.stage) " + TextPrinter.valueReference(e.value) + " threshold = "
            out += TextPrinter.floatText(e.threshold) + " score = " + e.score.rawValue
            out += (e.block.map { " block = " + TextPrinter.valueReference($0) } ?? "") + "\n"
        }
        return out
    }

    static func ints(_ v: [Int]) -> String { "[" + v.map(String.init).joined(separator: ", ") + "]" }
}

/// Bound of the integers in stage metadata (channel counts, stage numbers, offsets).
private let stageIntLimit = Int(Int32.max)

extension Parser {
    /// ` stage = N [ranges = [[…], …]]` after a node's name, or nil when absent.
    mutating func parseNodeStaging() throws -> NodeStaging? {
        guard isWord("stage") else { return nil }
        try advance()
        try expectPunct("=")
        let stage = try parseInt(in: 1...stageIntLimit, "a stage number")
        var ranges: [ChannelRange] = []
        if isWord("ranges") {
            try advance()
            try expectPunct("=")
            try expectPunct("[")
            ranges = try list(until: "]") { p -> ChannelRange in
                let position = p.token.position
                try p.expectPunct("[")
                let v = try p.list(until: "]") { q in try q.parseInt(in: 0...stageIntLimit, "a channel range field") }
                guard v.count == 6 else {
                    throw p.fail("a channel range has 6 fields [axis, class, scale, offset, first, last], got \(v.count)", at: position)
                }
                return ChannelRange(axis: v[0], classIndex: v[1], scale: v[2], offset: v[3], firstStage: v[4], lastStage: v[5])
            }
        }
        return NodeStaging(stage: stage, ranges: ranges)
    }

    /// One line of the stage table: `stages N`, `class …`, `reuse_off "name"` or `exit …`.
    mutating func parseStageLine() throws {
        let position = token.position
        guard case .word(let keyword) = token.kind else { throw expected("a stage table line") }
        try advance()
        if keyword == "stages" {
            guard stageInfo == nil else { throw fail("'stages' is given twice", at: position) }
            let count = try parseInt(in: 1...stageIntLimit, "the stage count")
            try expectKey("static_macs")
            let macs = try parseInt(in: 0...Int.max, "a MAC count")
            try expectKey("static_parameters")
            let parameters = try parseInt(in: 0...Int.max, "a parameter count")
            var axis = StageAxis.width
            if isWord("axis") {
                try expectKey("axis")
                guard case .word(let w) = token.kind, let a = StageAxis(rawValue: w) else {
                    throw expected("a stage axis (" + StageAxis.allCases.map(\.rawValue).joined(separator: ", ") + ")")
                }
                try advance()
                axis = a
            }
            var blocks = 0
            if axis == .widthDepth {
                try expectKey("blocks")
                blocks = try parseInt(in: 1...stageIntLimit, "the block count")
            }
            stageInfo = StageInfo(stageCount: count, classes: [], staticMACs: macs, staticParameters: parameters, axis: axis,
                                  blockCount: blocks)
            return
        }
        guard var info = stageInfo else { throw fail("'\(keyword)' before the 'stages N' line", at: position) }
        switch keyword {
        case "class":
            let name = try parseString("a quoted class name")
            try expectKey("channels")
            let channels = try parseInt(in: 1...stageIntLimit, "a channel count")
            try expectKey("boundaries")
            let boundaries = try parseIntList("a boundary")
            try expectKey("sliceable")
            guard isWord("true") || isWord("false") else { throw expected("'true' or 'false'") }
            let sliceable = isWord("true")
            try advance()
            try expectKey("bins")
            let bins = try parseIntList("a bin boundary")
            try expectKey("members")
            try expectPunct("[")
            let members = try list(until: "]") { p in try p.parseString("a quoted member name") }
            guard info.classIndex(named: name) == nil else { throw fail("class \(TextPrinter.quoted(name)) is given twice", at: position) }
            info.classes.append(ChannelClass(name: name, channels: channels, boundaries: boundaries, members: members,
                                             sliceable: sliceable, bins: bins))
        case "classifier":
            info.classifier = try parseString("the classifier's quoted name")
            try expectKey("sums")
            try expectPunct("[")
            info.classifierSums = try list(until: "]") { p -> String in
                let (value, at) = try p.parseValueName()
                guard p.graph.isDefined(value) else { throw p.fail("undefined value '\(TextPrinter.valueReference(value))'", at: at) }
                return value
            }
        case "reuse_off":
            info.reuseOff.append(try parseString("a quoted layer name"))
        case "exit":
            let stage = try parseInt(in: 1...stageIntLimit, "an exit's stage")
            let (value, at) = try parseValueName()
            guard graph.isDefined(value) else { throw fail("undefined value '\(TextPrinter.valueReference(value))'", at: at) }
            try expectKey("threshold")
            let threshold = try parseFloat()
            try expectKey("score")
            guard case .word(let w) = token.kind, let score = ExitScore(rawValue: w) else {
                throw expected("an exit score (" + ExitScore.allCases.map(\.rawValue).joined(separator: ", ") + ")")
            }
            try advance()
            var block: String?
            if isWord("block") {
                try expectKey("block")
                let (b, at) = try parseValueName()
                guard graph.isDefined(b) else { throw fail("undefined value '\(TextPrinter.valueReference(b))'", at: at) }
                block = b
            }
            info.exits.append(StageExit(stage: stage, value: value, threshold: threshold, score: score, block: block))
        default:
            throw fail("unknown stage table line '\(keyword)'", at: position)
        }
        stageInfo = info
    }

    private mutating func expectKey(_ key: String) throws {
        try expectWord(key)
        try expectPunct("=")
    }

    private mutating func parseString(_ what: String) throws -> String {
        guard case .string(let s) = token.kind else { throw expected(what) }
        try advance()
        return s
    }

    private mutating func parseIntList(_ what: String) throws -> [Int] {
        try expectPunct("[")
        return try list(until: "]") { p in try p.parseInt(in: 0...stageIntLimit, what) }
    }
}
