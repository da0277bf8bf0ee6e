// ClipToRelu: the plugin's pass, rewriting clip(0, +inf) into relu; and the plugin's entry point.

import IR
import Passes

/// clip with min 0 and no max is relu; with `min` set, clip(min, +inf) of a value already ≥ min
/// would be too, but that needs a range analysis, so only the exact bound is rewritten.
public struct ClipToRelu: Pass {
    public static let name = "clip-to-relu"
    public static let summary = "Rewrites clip(0, +inf) into relu (plugin example)"
    public static let options: [PassOptionSpec] = [
        .double("min", default: 0, help: "the lower bound that makes a clip a relu"),
        .string("tag", default: "plugin", help: "a string option, to show how strings travel"),
    ]

    let lower: Float

    public init(options: PassOptions) throws {
        lower = Float(try options.double("min"))
        guard lower == 0 else { throw PassError("only min=0 makes a clip a relu, got \(lower)") }
    }

    public func run(on graph: inout Graph) throws {
        for i in graph.nodes.indices {
            if case .clip(let lo, let hi) = graph.nodes[i].op, lo == lower, hi == .infinity {
                try graph.setOp(.relu, ofNodeAt: i)
            }
        }
    }
}

/// The entry point `s2dc opt --load-pass-plugin` calls.
@_cdecl("s2dc_register_passes")
public func registerPasses(_ abi: Int32, _ host: UnsafeMutableRawPointer?,
                           _ register: PassPluginABI.RegisterFunction?) -> Int32 {
    PassPluginABI.export([ClipToRelu.self], abi: abi, host: host, register: register)
}
