// S2DC: the root command; each subcommand is a thin wrapper over the libraries.

import ArgumentParser

@main
struct S2DC: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "s2dc",
        abstract: "Turns a static CNN (ONNX) into a dynamic multi-stage network and emits standalone code.",
        version: "0.1.0",
        subcommands: [ConvertCommand.self, Inspect.self, Opt.self, Run.self, Emit.self, Train.self, Eval.self, SearchCommand.self])
}
