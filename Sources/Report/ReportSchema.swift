// ReportSchema: the Codable types of `s2dc convert`'s OUT/report.json.

import Foundation

/// Any JSON value, kept as it is: the configuration and the options are stored opaquely, so the
/// report does not depend on the search's or the CLI's types.
public indirect enum JSONValue: Codable, Equatable, Sendable {
    case null
    case bool(Bool)
    case number(Double)
    case string(String)
    case array([JSONValue])
    case object([String: JSONValue])

    public init(from decoder: Decoder) throws {
        let c = try decoder.singleValueContainer()
        if c.decodeNil() { self = .null }
        else if let b = try? c.decode(Bool.self) { self = .bool(b) }
        else if let n = try? c.decode(Double.self) { self = .number(n) }
        else if let s = try? c.decode(String.self) { self = .string(s) }
        else if let a = try? c.decode([JSONValue].self) { self = .array(a) }
        else { self = .object(try c.decode([String: JSONValue].self)) }
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.singleValueContainer()
        switch self {
        case .null: try c.encodeNil()
        case .bool(let b): try c.encode(b)
        case .number(let n): try c.encode(n)
        case .string(let s): try c.encode(s)
        case .array(let a): try c.encode(a)
        case .object(let o): try c.encode(o)
        }
    }
}

/// The static (input) model, measured on the test split.
public struct StaticModelReport: Codable, Equatable, Sendable {
    public var testAccuracy: Double
    /// MACs per image (the cost model's convention).
    public var macs: Int
    /// Mean latency of the emitted static C per image, in milliseconds; nil when not measured.
    public var latencyMs: Double?
    /// Why `latencyMs` is nil (no C compiler, …), or how it was measured.
    public var latencyNote: String?

    public init(testAccuracy: Double, macs: Int, latencyMs: Double? = nil, latencyNote: String? = nil) {
        self.testAccuracy = testAccuracy
        self.macs = macs
        self.latencyMs = latencyMs
        self.latencyNote = latencyNote
    }
}

/// One exit of the chosen configuration, used alone for every test image.
public struct ExitReport: Codable, Equatable, Sendable {
    /// 1-based exit (stage) number.
    public var exit: Int
    public var testAccuracy: Double
    /// MACs of stages 1...exit (what an image leaving here costs).
    public var cumulativeMacs: Int

    public init(exit: Int, testAccuracy: Double, cumulativeMacs: Int) {
        self.exit = exit
        self.testAccuracy = testAccuracy
        self.cumulativeMacs = cumulativeMacs
    }
}

/// The dynamic model with its calibrated thresholds, on the test split.
public struct DynamicModelReport: Codable, Equatable, Sendable {
    public var testAccuracy: Double
    /// Mean over test images of the MACs they spent.
    public var meanMacs: Double
    /// Share of test images leaving at each exit (sums to 1).
    public var exitShares: [Double]
    /// Mean latency of the emitted dynamic C per test image, in milliseconds; nil when not measured.
    public var meanLatencyMs: Double?
    /// Why `meanLatencyMs` is nil (no C compiler, …), or how it was measured.
    public var latencyNote: String?
    /// Share of test images on which the emitted C gave the same label and exit as the library's
    /// evaluation (nil when the C was not run).
    public var emittedAgreement: Double?

    public init(testAccuracy: Double, meanMacs: Double, exitShares: [Double], meanLatencyMs: Double? = nil,
                latencyNote: String? = nil, emittedAgreement: Double? = nil) {
        self.testAccuracy = testAccuracy
        self.meanMacs = meanMacs
        self.exitShares = exitShares
        self.meanLatencyMs = meanLatencyMs
        self.latencyNote = latencyNote
        self.emittedAgreement = emittedAgreement
    }
}

/// One point of an accuracy/MACs trade-off (the search's front, or a baseline's curve).
public struct TradeoffPoint: Codable, Equatable, Sendable {
    public var meanMacs: Double
    public var accuracy: Double

    public init(meanMacs: Double, accuracy: Double) {
        self.meanMacs = meanMacs
        self.accuracy = accuracy
    }
}

/// A baseline measured in the same run (SDN depth exits, width slimming, filter pruning, the
/// uniform partition without search, an external peer).
public struct BaselineReport: Codable, Equatable, Sendable {
    public var name: String
    public var testAccuracy: Double
    public var meanMacs: Double
    /// Further points of its trade-off curve, when it has one (e.g. other thresholds).
    public var curve: [TradeoffPoint]
    /// How it was made (epochs, options), in words.
    public var notes: String
    /// A baseline with early exits: the share of test images leaving at each exit (sums to 1);
    /// nil for a single-exit one.
    public var exitShares: [Double]?
    /// Why it was not measured in this run (then `testAccuracy` and `meanMacs` are 0 and mean
    /// nothing); nil for a measured baseline.
    public var notRun: String?
    /// Wall time this run spent measuring it (training included; after `--resume`, the resumed
    /// part only); nil when not measured.
    public var seconds: Double?

    public init(name: String, testAccuracy: Double, meanMacs: Double, curve: [TradeoffPoint] = [], notes: String = "",
                exitShares: [Double]? = nil, notRun: String? = nil) {
        self.name = name
        self.testAccuracy = testAccuracy
        self.meanMacs = meanMacs
        self.curve = curve
        self.notes = notes
        self.exitShares = exitShares
        self.notRun = notRun
    }

    /// A baseline this run did not measure, with the reason.
    public static func notRun(_ name: String, reason: String) -> BaselineReport {
        BaselineReport(name: name, testAccuracy: 0, meanMacs: 0, notRun: reason)
    }
}

/// Wall time of one phase of the run.
public struct PhaseTime: Codable, Equatable, Sendable {
    public var phase: String
    public var seconds: Double

    public init(phase: String, seconds: Double) {
        self.phase = phase
        self.seconds = seconds
    }
}

/// Everything `s2dc convert` reports (OUT/report.json).
public struct ConvertReport: Codable, Equatable, Sendable {
    /// Bumped when a field changes meaning.
    public var schemaVersion: Int
    public var model: String
    public var dataset: String
    /// The MAC budget as a fraction of the static model's MACs.
    public var budget: Double
    public var staticModel: StaticModelReport
    public var exits: [ExitReport]
    public var dynamicModel: DynamicModelReport
    /// The search's Pareto front (validation accuracy against expected MACs).
    public var paretoFront: [TradeoffPoint]
    /// The chosen configuration, as the search wrote it.
    public var configuration: JSONValue
    public var baselines: [BaselineReport]
    /// Every option of the run, by name.
    public var options: [String: JSONValue]
    public var phases: [PhaseTime]

    public static let currentSchemaVersion = 1

    public init(model: String, dataset: String, budget: Double, staticModel: StaticModelReport, exits: [ExitReport],
                dynamicModel: DynamicModelReport, paretoFront: [TradeoffPoint], configuration: JSONValue,
                baselines: [BaselineReport], options: [String: JSONValue], phases: [PhaseTime]) {
        schemaVersion = Self.currentSchemaVersion
        self.model = model
        self.dataset = dataset
        self.budget = budget
        self.staticModel = staticModel
        self.exits = exits
        self.dynamicModel = dynamicModel
        self.paretoFront = paretoFront
        self.configuration = configuration
        self.baselines = baselines
        self.options = options
        self.phases = phases
    }

    /// The report as JSON: snake_case keys, sorted, indented (stable bytes for the same report).
    public func jsonData() throws -> Data {
        let encoder = JSONEncoder()
        encoder.keyEncodingStrategy = .convertToSnakeCase
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        return try encoder.encode(self)
    }

    /// Reads a report written by `jsonData()`; a newer schema is an error that says so.
    public static func decode(_ data: Data) throws -> ConvertReport {
        let decoder = JSONDecoder()
        decoder.keyDecodingStrategy = .convertFromSnakeCase
        let report = try decoder.decode(ConvertReport.self, from: data)
        guard report.schemaVersion <= currentSchemaVersion else {
            throw ReportError("report schema \(report.schemaVersion) is newer than this s2dc's (\(currentSchemaVersion))")
        }
        return report
    }
}

/// An error of the report library.
public struct ReportError: Error, Equatable, CustomStringConvertible {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}
