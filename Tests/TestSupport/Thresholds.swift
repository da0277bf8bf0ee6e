// Thresholds: exit thresholds for tests that compare two engines or two code paths, placed where no sample sits.
import XCTest

extension TestSupport {
    /// A threshold between the sorted scores `sorted[index - 1]` and `sorted[index]` (the first
    /// `index` samples stay, the rest leave), halfway, so that no sample sits on it: another engine
    /// (onnxruntime, the emitted code) or another kernel (the batched convolutions against batch 1)
    /// rounds a score a few ulps differently, and a sample exactly at the threshold would then
    /// decide differently without either side being wrong.
    public static func threshold(between sorted: [Float], at index: Int, file: StaticString = #filePath, line: UInt = #line) -> Float {
        XCTAssertLessThan(sorted[index - 1], sorted[index], "scores tie at \(index): \(sorted)", file: file, line: line)
        return (sorted[index - 1] + sorted[index]) / 2
    }
}
