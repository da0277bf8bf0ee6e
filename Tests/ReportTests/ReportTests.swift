// ReportTests: report.json round trip, the SVG plots (well-formed XML with their series and axis
// labels), ticks, escaping, and the summary table.

import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif
import XCTest
@testable import Report

/// Collects element names, attributes and text of an SVG document; fails on malformed XML.
private final class SVGCollector: NSObject, XMLParserDelegate {
    var elements: [String] = []
    var texts: [String] = []
    private var current = ""
    func parser(_ parser: XMLParser, didStartElement name: String, namespaceURI: String?, qualifiedName: String?,
                attributes: [String: String] = [:]) {
        elements.append(name)
        current = ""
    }
    func parser(_ parser: XMLParser, foundCharacters string: String) { current += string }
    func parser(_ parser: XMLParser, didEndElement name: String, namespaceURI: String?, qualifiedName: String?) {
        if name == "text" { texts.append(current) }
        current = ""
    }
}

final class ReportTests: XCTestCase {
    private func sample() -> ConvertReport {
        ConvertReport(
            model: "models/default.onnx", dataset: "fashion-mnist", budget: 0.2,
            staticModel: StaticModelReport(testAccuracy: 0.9257, macs: 9_345_920, latencyMs: 0.45),
            exits: [ExitReport(exit: 1, testAccuracy: 0.81, cumulativeMacs: 610_000),
                    ExitReport(exit: 2, testAccuracy: 0.90, cumulativeMacs: 1_790_000),
                    ExitReport(exit: 3, testAccuracy: 0.924, cumulativeMacs: 6_460_000)],
            dynamicModel: DynamicModelReport(testAccuracy: 0.9231, meanMacs: 1_850_000, exitShares: [0.55, 0.3, 0.15],
                                             meanLatencyMs: 0.11),
            paretoFront: [TradeoffPoint(meanMacs: 900_000, accuracy: 0.88), TradeoffPoint(meanMacs: 1_850_000, accuracy: 0.921),
                          TradeoffPoint(meanMacs: 3_000_000, accuracy: 0.926)],
            configuration: .object(["boundaries": .array([.number(2), .number(5)]), "thresholds": .array([.number(0.9), .number(0.8)])]),
            baselines: [BaselineReport(name: "SDN depth exits", testAccuracy: 0.90, meanMacs: 2_100_000,
                                       curve: [TradeoffPoint(meanMacs: 3_000_000, accuracy: 0.915)], notes: "frozen backbone",
                                       exitShares: [0.6, 0.3, 0.1]),
                        BaselineReport(name: "filter pruning <l1>", testAccuracy: 0.905, meanMacs: 1_860_000),
                        BaselineReport(name: "uniform 0.25/0.5", testAccuracy: 0.915, meanMacs: 1_840_000)],
            options: ["budget": .number(0.2), "stages": .number(3), "resume": .bool(false), "target": .string("c"),
                      "seed": .null],
            phases: [PhaseTime(phase: "import", seconds: 0.4), PhaseTime(phase: "supernet", seconds: 612),
                     PhaseTime(phase: "search", seconds: 95.5)])
    }

    func testReportRoundTripsThroughJSONWithSnakeCaseKeys() throws {
        let report = sample()
        let data = try report.jsonData()
        let text = String(decoding: data, as: UTF8.self)
        for key in ["\"schema_version\" : 1", "\"static_model\"", "\"cumulative_macs\"", "\"mean_macs\"", "\"exit_shares\"",
                    "\"mean_latency_ms\"", "\"pareto_front\"", "\"latency_ms\"", "\"phases\""] {
            XCTAssertTrue(text.contains(key), key)
        }
        XCTAssertEqual(try ConvertReport.decode(data), report)
        XCTAssertEqual(try report.jsonData(), data, "same report, same bytes")
        // Optional latencies may be absent.
        var r = report
        r.staticModel.latencyMs = nil
        XCTAssertEqual(try ConvertReport.decode(try r.jsonData()).staticModel.latencyMs, nil)
    }

    func testNewerSchemaIsAClearError() throws {
        var object = try JSONSerialization.jsonObject(with: try sample().jsonData()) as? [String: Any] ?? [:]
        object["schema_version"] = 99
        let data = try JSONSerialization.data(withJSONObject: object)
        XCTAssertThrowsError(try ConvertReport.decode(data)) { error in
            XCTAssertEqual("\(error)", "report schema 99 is newer than this s2dc's (1)")
        }
    }

    private func parse(_ svg: String, file: StaticString = #filePath, line: UInt = #line) -> SVGCollector {
        let parser = XMLParser(data: Data(svg.utf8))
        let collector = SVGCollector()
        parser.delegate = collector
        XCTAssertTrue(parser.parse(), "not well-formed XML: \(parser.parserError.map { "\($0)" } ?? "")", file: file, line: line)
        XCTAssertEqual(collector.elements.first, "svg", file: file, line: line)
        return collector
    }

    /// Keeps the rendered plots in .build/report-samples/ for a look (as the node-test reports in .build/).
    private func keep(_ svg: String, _ name: String) throws {
        let dir = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent(".build/report-samples")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        try Data(svg.utf8).write(to: dir.appendingPathComponent(name))
    }

    func testParetoPlotIsXMLWithEverySeriesAndAxisLabels() throws {
        let svg = ConvertPlots.pareto(sample())
        try keep(svg, "pareto.svg")
        let c = parse(svg)
        for label in ["dynamic front (validation)", "chosen (test)", "static model (test)", "SDN depth exits",
                      "filter pruning <l1>", "uniform 0.25/0.5", "mean MACs per image (millions)", "accuracy (%)"] {
            XCTAssertTrue(c.texts.contains(label), "missing text '\(label)' in \(c.texts)")
        }
        XCTAssertTrue(svg.contains("filter pruning &lt;l1&gt;"), "text is escaped")
        XCTAssertTrue(c.elements.contains("polyline"), "the front is a line")
        // Ticks: numbers along both axes, covering the static model's 9.35 M MACs.
        let numbers = c.texts.compactMap(Double.init)
        XCTAssertTrue(numbers.contains { $0 >= 9.35 }, "\(numbers)")
        XCTAssertGreaterThanOrEqual(numbers.count, 8)
    }

    func testExitHistogramShowsSharesAndPerExitAccuracy() throws {
        let svg = ConvertPlots.exits(sample())
        try keep(svg, "exits.svg")
        let c = parse(svg)
        for label in ["exit 1", "exit 2", "exit 3", "55.0 %", "30.0 %", "15.0 %", "accuracy 81.00 %", "accuracy 92.40 %",
                      "0.61 M MACs", "share of test images (%)", "exit (cumulative MACs per image)"] {
            XCTAssertTrue(c.texts.contains(label), "missing text '\(label)' in \(c.texts)")
        }
        XCTAssertEqual(c.elements.filter { $0 == "rect" }.count, 4, "background and three bars")
    }

    func testNiceTicks() {
        let a = AxisTicks.nice(0.3, 9.7)
        XCTAssertEqual(a.ticks, [0, 2, 4, 6, 8, 10])
        let b = AxisTicks.nice(88.2, 92.6)
        XCTAssertEqual(b.ticks.first, 88)
        XCTAssertEqual(b.ticks.last, 93)
        XCTAssertEqual(AxisTicks.label(0.25, step: 0.05), "0.25")
        XCTAssertEqual(AxisTicks.nice(5, 5).ticks.count > 1, true, "a single value still gets an axis")
    }

    func testSummaryTable() {
        let text = SummaryTable.render(sample())
        let lines = text.split(separator: "\n").map(String.init)
        XCTAssertTrue(lines[0].hasPrefix("model"), text)
        XCTAssertTrue(text.contains("static"), text)
        XCTAssertTrue(lines.contains { $0.hasPrefix("dynamic (chosen)") && $0.contains("92.31 %") && $0.contains("1.850 M")
            && $0.contains("19.8 %") && $0.contains("0.110 ms") }, text)
        XCTAssertTrue(lines.contains { $0.hasPrefix("  exit 1 alone (55.0 % leave)") && $0.contains("81.00 %") }, text)
        XCTAssertTrue(lines.contains { $0.hasPrefix("baseline: SDN depth exits") && $0.contains("90.00 %") }, text)
        XCTAssertTrue(text.contains("dynamic vs static: -0.26 pt at 19.8 % of the MACs (budget 20 %)"), text)
        XCTAssertTrue(text.contains("supernet 10 min 12 s"), text)
        XCTAssertTrue(text.contains("baseline SDN depth exits: test images leaving at each exit 60.0 % / 30.0 % / 10.0 %"), text)
        // Columns line up: every row as wide as the header (the table ends before the comparison line).
        let end = lines.firstIndex { $0.hasPrefix("dynamic vs static") } ?? lines.count
        XCTAssertEqual(end, lines.count - 3, text)
        let widths = Set(lines[2..<end].map(\.count))
        XCTAssertEqual(widths.count, 1, text)
    }
}
