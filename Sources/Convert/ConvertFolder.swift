// ConvertFolder: OUT/'s layout (one artifact per phase), atomic writes and the phase-done markers --resume reads.
import Foundation
import IR
import Runtime

/// The phases of a convert run, in order.
public enum ConvertPhase: String, Codable, Sendable, CaseIterable {
    case stage, supernet, search, materialize, emit, evaluate, baselines, report

    /// What the phase does, for progress lines.
    public var title: String {
        switch self {
        case .stage: return "import, canonicalize, split-stages, insert-exits, make-sliceable, flops-bins"
        case .supernet: return "supernet training"
        case .search: return "search"
        case .materialize: return "BN recalibration, fine-tuning, materialize"
        case .emit: return "emit"
        case .evaluate: return "evaluation on the test split"
        case .baselines: return "baselines"
        case .report: return "report"
        }
    }
}

/// What a finished phase left: its wall time and its one result line.
public struct PhaseMarker: Codable, Equatable, Sendable {
    public var phase: ConvertPhase
    public var seconds: Double
    public var summary: String
}

/// The output folder of a run. Every artifact is written to a temporary name and renamed; a
/// phase is done once its marker `phases/NAME.done` exists, written last.
public struct ConvertFolder: Sendable {
    public let path: String

    public init(_ path: String) { self.path = path.hasSuffix("/") && path.count > 1 ? String(path.dropLast()) : path }

    public func file(_ name: String) -> String { path + "/" + name }

    public var settings: String { file("convert.json") }
    public var staged: String { file("staged.s2dir") }
    public var supernet: String { file("supernet.s2dir") }
    public var supernetCheckpoint: String { file("supernet.ckpt") }
    public var searchJSON: String { file("search.json") }
    public var searchCheckpoint: String { file("search.ckpt") }
    public var configuration: String { file("config.json") }
    public var recalibrated: String { file("recalibrated.s2dir") }
    public var finetuneCheckpoint: String { file("finetune.ckpt") }
    public var chosen: String { file("chosen.s2dir") }
    public var evaluation: String { file("evaluation.json") }
    public var baselines: String { file("baselines.json") }
    /// The baselines' training checkpoints (every epoch each).
    public var uniformCheckpoint: String { file("uniform-finetune.ckpt") }
    public var slimmingCheckpoint: String { file("slimming.ckpt") }
    public var pruneCheckpoint: String { file("prune.ckpt") }
    public var depthHeadsCheckpoint: String { file("sdn-heads.ckpt") }
    public var report: String { file("report.json") }
    public var paretoSVG: String { file("pareto.svg") }
    public var exitsSVG: String { file("exits.svg") }
    public var summary: String { file("summary.txt") }
    /// Emitted code of the chosen dynamic model (model.c/.h or model.swift).
    public var code: String { file("code") }
    /// The static model's C and the latency harnesses.
    public var latency: String { file("latency") }
    var phases: String { file("phases") }

    public func marker(_ phase: ConvertPhase) -> String { phases + "/\(phase.rawValue).done" }

    /// The marker of `phase`, when it is done.
    public func done(_ phase: ConvertPhase) -> PhaseMarker? {
        guard let data = FileManager.default.contents(atPath: marker(phase)) else { return nil }
        return try? JSONDecoder().decode(PhaseMarker.self, from: data)
    }

    /// Marks `phase` done (atomically, after its artifacts).
    public func markDone(_ m: PhaseMarker) throws {
        try makeFolder(phases)
        try writeAtomically(try JSONEncoder().encode(m), to: marker(m.phase))
    }

    /// Creates `folder` (and its parents) when missing.
    public func makeFolder(_ folder: String) throws {
        do { try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true) } catch {
            throw ConvertError("cannot create the folder '\(folder)': \(error.localizedDescription)")
        }
    }

    /// Reads a JSON artifact of an earlier phase, naming the file when it is missing or broken.
    public func read<T: Decodable>(_ type: T.Type, from path: String) throws -> T {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw ConvertError("\(path): missing (remove the folder or run without --resume)")
        }
        do { return try JSONDecoder().decode(T.self, from: data) } catch {
            throw ConvertError("\(path): unreadable (\(error)); remove the folder or run without --resume")
        }
    }

    /// Writes pretty, key-sorted JSON atomically.
    public func write<T: Encodable>(_ value: T, to path: String) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        try writeAtomically(try encoder.encode(value), to: path)
    }
}
