// Stages: the partition, exit and per-node stage metadata of a staged (dynamic) graph.

/// One channel class: values whose channels must line up, split into contiguous groups.
///
/// The class is named after its first member value (in the static graph's topological order), so
/// configuration files can refer to it by a name the user sees in `channel-classes`.
public struct ChannelClass: Hashable, Sendable {
    /// The first member value of the static graph; the class's name in text and configurations.
    public var name: String
    /// C: the channel count every member has (a member may hold `scale` features per channel).
    public var channels: Int
    /// b₁ … b_S: the exclusive end of each group, strictly increasing, the last one `channels`.
    public var boundaries: [Int]
    /// Every member value of the static graph, in topological order.
    public var members: [String]
    /// True when `make-sliceable` checked that every boundary may move (dense prefix slices).
    public var sliceable: Bool
    /// Candidate boundaries from `flops-bins` (strictly increasing, ending at `channels`); empty
    /// when none were computed.
    public var bins: [Int]

    public init(name: String, channels: Int, boundaries: [Int], members: [String], sliceable: Bool = false, bins: [Int] = []) {
        self.name = name
        self.channels = channels
        self.boundaries = boundaries
        self.members = members
        self.sliceable = sliceable
        self.bins = bins
    }

    /// The first channel of group `stage` (1-based): b_{s-1}, with b₀ = 0.
    public func start(ofStage stage: Int) -> Int { stage <= 1 ? 0 : boundaries[stage - 2] }

    /// The exclusive end of group `stage` (1-based): b_s.
    public func end(ofStage stage: Int) -> Int { boundaries[stage - 1] }

    /// The group (1-based stage) of channel `c`: the s with b_{s-1} ≤ c < b_s.
    public func stage(ofChannel c: Int) -> Int {
        (boundaries.firstIndex { c < $0 } ?? boundaries.count - 1) + 1
    }
}

/// How an exit turns its output into a confidence, compared against its threshold.
public enum ExitScore: String, Hashable, Sendable, CaseIterable {
    /// Max of the softmax over the exit output's features (the output holds logits).
    case softmax
    /// Max of the output itself (the output already holds probabilities, e.g. ends in Softmax).
    case max
}

/// An exit: after stage `stage`, `value` holds what the graph output would be if the sample left
/// here. A sample leaves at the first exit whose score is ≥ `threshold`; the last exit always
/// answers (its threshold is ignored).
public struct StageExit: Hashable, Sendable {
    public var stage: Int
    public var value: String
    public var threshold: Float
    public var score: ExitScore
    /// For a depth exit: the backbone value (a block's output) its head reads; nil otherwise.
    public var block: String?

    public init(stage: Int, value: String, threshold: Float, score: ExitScore, block: String? = nil) {
        self.stage = stage
        self.value = value
        self.threshold = threshold
        self.score = score
        self.block = block
    }
}

/// What the stages of a staged graph divide: the channels (width) or the layers (depth).
public enum StageAxis: String, Hashable, Sendable, CaseIterable {
    /// `split-stages`: stage s computes channel group s of every class (S2DNAS).
    case width
    /// `insert-exits{at=blocks}` on an unsplit graph: stage k is the backbone from block k−1's
    /// output up to block k's, plus exit k's new head (SDN / BranchyNet). No channel classes.
    case depth
    /// `insert-exits{at=blocks}` on width stages: each width stage s is cut at the B blocks into
    /// B+1 sub-stages, ordered (s, b) lexicographically: stage (s−1)·(B+1)+b ends with the depth
    /// exit after block b on groups ≤ s (b ≤ B) or with width exit s, the classifier (b = B+1).
    case widthDepth = "width_depth"
}

/// Where a stage of a staged graph sits on the two axes (`StageInfo.position(ofStage:)`).
public struct StagePosition: Hashable, Sendable {
    /// The width stage (channel groups ≤ `width` are computed); 1 for depth stages.
    public var width: Int
    /// The depth block the stage ends at (1…B), or nil when it ends at the classifier.
    public var block: Int?

    public init(width: Int, block: Int?) {
        self.width = width
        self.block = block
    }
}

/// The stage metadata of a graph that `split-stages` produced: the partition of every channel
/// class, the layers whose reuse flag is off, and the exits.
public struct StageInfo: Hashable, Sendable {
    /// S: the number of stages (1-based stage numbers run 1...S).
    public var stageCount: Int
    public var classes: [ChannelClass]
    /// Names of the (static) weighted layers whose reuse flag is off: their stage s reads only
    /// input group s (block diagonal weights) instead of groups ≤ s.
    public var reuseOff: [String]
    /// Exits in increasing stage order (at most one per stage).
    public var exits: [StageExit]
    /// The name of the static graph's classifier (the weighted layer that is not split).
    public var classifier: String
    /// Per stage s, the value holding the classifier's sums over input groups ≤ s (stage s adds
    /// its group's contribution onto sums[s-2]); exits run the classifier's weightless tail on it.
    public var classifierSums: [String]
    /// MACs and parameters of the static graph the stages were split from, for reports.
    public var staticMACs: Int
    public var staticParameters: Int
    /// Width stages (channel groups), depth stages (backbone segments ending at block exits), or
    /// both (width stages cut at blocks).
    public var axis: StageAxis
    /// B, the blocks each width stage is cut at, for `StageAxis.widthDepth` (stageCount = S·(B+1));
    /// 0 for the other axes.
    public var blockCount: Int

    public init(stageCount: Int, classes: [ChannelClass], reuseOff: [String] = [], exits: [StageExit] = [],
                classifier: String = "", classifierSums: [String] = [], staticMACs: Int = 0, staticParameters: Int = 0,
                axis: StageAxis = .width, blockCount: Int = 0) {
        self.axis = axis
        self.blockCount = blockCount
        self.stageCount = stageCount
        self.classes = classes
        self.reuseOff = reuseOff
        self.exits = exits
        self.classifier = classifier
        self.classifierSums = classifierSums
        self.staticMACs = staticMACs
        self.staticParameters = staticParameters
    }

    /// S, the width stages: the channel groups of every class and the classifier sums. Equal to
    /// `stageCount` for width stages, 1 for depth stages.
    public var widthStageCount: Int {
        switch axis {
        case .width: return stageCount
        case .depth: return 1
        case .widthDepth: return stageCount / (blockCount + 1)
        }
    }

    /// The width stage and block of stage `stage` (1-based).
    public func position(ofStage stage: Int) -> StagePosition {
        switch axis {
        case .width: return StagePosition(width: stage, block: nil)
        case .depth: return StagePosition(width: 1, block: stage < stageCount ? stage : nil)
        case .widthDepth:
            let b = (stage - 1) % (blockCount + 1) + 1
            return StagePosition(width: (stage - 1) / (blockCount + 1) + 1, block: b <= blockCount ? b : nil)
        }
    }

    /// The stage at width stage `width` and block `block` (nil: the classifier), the inverse of
    /// `position(ofStage:)`.
    public func stage(width: Int, block: Int?) -> Int {
        switch axis {
        case .width: return width
        case .depth: return block ?? stageCount
        case .widthDepth: return (width - 1) * (blockCount + 1) + (block ?? blockCount + 1)
        }
    }

    /// The index of the class named `name`.
    public func classIndex(named name: String) -> Int? { classes.firstIndex { $0.name == name } }

    /// The values the table names (exit values, depth exits' blocks, classifier sums), in table
    /// order: roots of the graph beside its outputs (`Graph.isRoot`).
    public var valueReferences: [String] { exits.map(\.value) + exits.compactMap(\.block) + classifierSums }

    /// True when the table names `value`.
    public func references(_ value: String) -> Bool {
        exits.contains { $0.value == value || $0.block == value } || classifierSums.contains(value)
    }

    /// Makes every reference to `old` name `new` (for `Graph.replaceAllUses`).
    public mutating func renameReferences(of old: String, to new: String) {
        for i in exits.indices {
            if exits[i].value == old { exits[i].value = new }
            if exits[i].block == old { exits[i].block = new }
        }
        classifierSums = classifierSums.map { $0 == old ? new : $0 }
    }

    /// The exit after `stage`, if there is one.
    public func exit(atStage stage: Int) -> StageExit? { exits.first { $0.stage == stage } }

    /// The half-open feature range that `range` denotes under this partition:
    /// `offset + scale · [b_{first-1}, b_last)` of its class.
    public func resolve(_ range: ChannelRange) -> Range<Int>? {
        guard classes.indices.contains(range.classIndex), range.firstStage >= 1, range.firstStage <= range.lastStage,
              range.lastStage <= widthStageCount else { return nil }
        let k = classes[range.classIndex]
        guard k.boundaries.count == widthStageCount else { return nil }
        return (range.offset + range.scale * k.start(ofStage: range.firstStage))
            ..< (range.offset + range.scale * k.end(ofStage: range.lastStage))
    }
}

/// A range of features along one axis of a `slice` node's input, stated by partition: the
/// groups (width stages) `firstStage...lastStage` of class `classIndex`, each channel `scale` features wide,
/// starting at `offset` (a member's position inside a Concat, in features). The slice's
/// `starts`/`ends` on `axis` are this range resolved under the graph's partition, so a new
/// partition (another supernet configuration) re-resolves the same nodes without copying weights.
public struct ChannelRange: Hashable, Sendable {
    public var axis: Int
    public var classIndex: Int
    public var scale: Int
    public var offset: Int
    public var firstStage: Int
    public var lastStage: Int

    public init(axis: Int, classIndex: Int, scale: Int = 1, offset: Int = 0, firstStage: Int, lastStage: Int) {
        self.axis = axis
        self.classIndex = classIndex
        self.scale = scale
        self.offset = offset
        self.firstStage = firstStage
        self.lastStage = lastStage
    }
}

/// The stage of one node of a staged graph, and for a `slice` node the partition ranges that its
/// bounds resolve.
public struct NodeStaging: Hashable, Sendable {
    /// 1-based stage; stage s may read graph inputs, constants and values of stages ≤ s.
    public var stage: Int
    /// For slices made by `split-stages`: what each sliced axis's bounds mean.
    public var ranges: [ChannelRange]

    public init(stage: Int, ranges: [ChannelRange] = []) {
        self.stage = stage
        self.ranges = ranges
    }
}
