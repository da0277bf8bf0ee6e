// ConvertReporting: the report phase: report.json, pareto.svg, exits.svg and the summary table from the phases' artifacts.
import Foundation
import IR
import Report
import Search

extension ConvertDriver {
    func reportPhase() throws -> String {
        let evaluation = try folder.read(ConvertEvaluationFile.self, from: folder.evaluation)
        let search = try folder.read(SearchResult.self, from: folder.searchJSON)
        let baselines = try folder.read([BaselineReport].self, from: folder.baselines)
        guard let configData = FileManager.default.contents(atPath: folder.finalConfiguration) else {
            throw ConvertError("\(folder.finalConfiguration): missing")
        }
        let configuration = try JSONDecoder().decode(JSONValue.self, from: configData)
        let options = try JSONDecoder().decode([String: JSONValue].self, from: JSONEncoder().encode(settings))
        let phases = ConvertPhase.allCases.compactMap { folder.done($0) }.map { PhaseTime(phase: $0.phase.rawValue, seconds: $0.seconds) }
        let front = search.front.map { search.evaluations[$0] }.map { TradeoffPoint(meanMacs: $0.expectedMACs, accuracy: $0.accuracy) }
        let report = ConvertReport(model: settings.model, dataset: data.source, budget: settings.budget,
                                   staticModel: evaluation.staticModel, exits: evaluation.exits, dynamicModel: evaluation.dynamicModel,
                                   paretoFront: front, configuration: configuration, baselines: baselines, options: options,
                                   phases: phases)
        try writeAtomically(try report.jsonData(), to: folder.report)
        try writeAtomically(Data(ConvertPlots.pareto(report).utf8), to: folder.paretoSVG)
        try writeAtomically(Data(ConvertPlots.exits(report).utf8), to: folder.exitsSVG)
        try writeAtomically(Data(SummaryTable.render(report).utf8), to: folder.summary)
        return "report.json, pareto.svg, exits.svg, summary.txt"
    }
}
