// ConfigurationFile: the one reader of configuration JSON (split-stages, insert-exits and materialize read the file s2dc search writes).

import Foundation
import IR

/// A configuration file: a partition (boundaries per class, reuse flags) and optionally the exit
/// thresholds. It is the `config.json` that `s2dc search` writes (`ChosenConfiguration`), or a
/// hand-written subset of it:
///
/// ```json
/// {"stages": 3, "boundaries": {"conv1_out": [4, 8, 16]}, "reuse": {"Conv_3": false},
///  "thresholds": [0.9, 0.8],
///  "accuracy": 0.91, "expectedMACs": 1.2e6, "fractionOfStatic": 0.4, "feasible": true,
///  "bins": {"conv1_out": [1, 3]}, "encoding": [1, 3]}
/// ```
///
/// `stages`, `boundaries`, `reuse` and `thresholds` are read; the keys that say how the search
/// chose it (`informationKeys`) are ignored. Any other key is an error, with the key it most
/// likely misspells, so a typo never silently drops a setting.
public struct ConfigurationFile: Equatable, Sendable {
    public var stages: Int?
    /// b₁…b_S by class name.
    public var boundaries: [String: [Int]] = [:]
    /// Reuse flag by (static) layer name.
    public var reuse: [String: Bool] = [:]
    /// τ₁…τ_{S−1}, when the file has them.
    public var thresholds: [Double]?

    /// The keys that set something.
    public static let settingKeys = ["stages", "boundaries", "reuse", "thresholds"]
    /// The keys `s2dc search` writes about how the configuration was chosen, ignored here.
    public static let informationKeys = ["accuracy", "expectedMACs", "fractionOfStatic", "feasible", "bins", "encoding"]

    public init(stages: Int? = nil, boundaries: [String: [Int]] = [:], reuse: [String: Bool] = [:], thresholds: [Double]? = nil) {
        self.stages = stages
        self.boundaries = boundaries
        self.reuse = reuse
        self.thresholds = thresholds
    }

    /// Reads `path`; errors name the file and the key.
    public static func read(_ path: String) throws -> ConfigurationFile {
        guard let data = FileManager.default.contents(atPath: path) else { throw PassError("\(path): cannot read the configuration file") }
        let json: Any
        do { json = try JSONSerialization.jsonObject(with: data) } catch {
            throw PassError("\(path): not valid JSON (\(error.localizedDescription))")
        }
        guard let top = json as? [String: Any] else { throw PassError("\(path): the configuration must be a JSON object") }
        for key in top.keys.sorted() where !settingKeys.contains(key) && !informationKeys.contains(key) {
            let hint = closest(to: key).map { "; did you mean '\($0)'?" } ?? ""
            throw PassError("\(path): unknown key '\(key)'\(hint) (read: \(settingKeys.joined(separator: ", ")); ignored: \(informationKeys.joined(separator: ", ")))")
        }
        var c = ConfigurationFile()
        if let s = top["stages"] {
            guard let n = s as? Int, n >= 1 else { throw PassError("\(path): \"stages\" must be an integer >= 1") }
            c.stages = n
        }
        if let b = top["boundaries"] {
            guard let table = b as? [String: Any] else { throw PassError("\(path): \"boundaries\" must map class names to lists of channel counts") }
            for (name, list) in table {
                guard let ints = list as? [Int] else { throw PassError("\(path): boundaries of class '\(name)' must be a list of integers") }
                c.boundaries[name] = ints
            }
        }
        if let r = top["reuse"] {
            guard let flags = r as? [String: Bool] else { throw PassError("\(path): \"reuse\" must map layer names to true/false") }
            c.reuse = flags
        }
        if let t = top["thresholds"] {
            guard let list = (t as? [NSNumber])?.map(\.doubleValue), list.allSatisfy({ $0.isFinite }) else {
                throw PassError("\(path): \"thresholds\" must be a list of numbers")
            }
            c.thresholds = list
        }
        return c
    }

    /// The setting key that `key` most likely misspells (same letters ignoring case, or at most two
    /// edits away), if any.
    static func closest(to key: String) -> String? {
        let candidates = settingKeys + informationKeys
        if let same = candidates.first(where: { $0.lowercased() == key.lowercased() }) { return same }
        let scored = candidates.map { ($0, editDistance(Array($0.lowercased()), Array(key.lowercased()))) }
        guard let best = scored.min(by: { $0.1 < $1.1 }), best.1 <= 2 else { return nil }
        return best.0
    }

    /// Levenshtein distance.
    static func editDistance(_ a: [Character], _ b: [Character]) -> Int {
        var row = Array(0...b.count)
        for (i, x) in a.enumerated() {
            var previous = row[0]
            row[0] = i + 1
            for (j, y) in b.enumerated() {
                let old = row[j + 1]
                row[j + 1] = min(row[j + 1] + 1, row[j] + 1, previous + (x == y ? 0 : 1))
                previous = old
            }
        }
        return row[b.count]
    }
}
