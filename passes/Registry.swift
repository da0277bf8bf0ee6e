// Registry: the one list of built-in passes; `PassRegistry.shared` starts with these.

/// Every built-in pass, in the order `s2dc opt --list-passes` shows them. A new built-in pass is a
/// new file and one line here.
let builtinPasses: [any Pass.Type] = [
    Canonicalize.self,
    FoldConstants.self,
    EliminateIdentity.self,
    FoldBatchNorm.self,
    FoldChannelAffine.self,
    FuseActivation.self,
    FlattenPatterns.self,
    CSE.self,
    DCE.self,
    PruneFilters.self,
    SortChannels.self,
    Lower.self,
    StripSoftmax.self,
    ChannelClasses.self,
    SplitStages.self,
    InsertExits.self,
    MakeSliceable.self,
    FlopsBins.self,
    InsertBatchNorm.self,
    Materialize.self,
]
