// ProgressBarTests: the progress line's fields, redraws on a terminal, and the 30-second log lines elsewhere.
import Runtime
import XCTest

final class ProgressBarTests: XCTestCase {
    func testLogModeWritesEveryIntervalAndAtTheEnd() {
        var written: [String] = [], clock = 0.0
        let bar = ProgressBar(terminal: false, logInterval: 30, write: { written.append($0) }, now: { clock })
        bar.begin("epoch 1/2", total: 100, unit: "steps")
        for step in 1...100 {
            clock += 1
            bar.update(step, detail: "loss 0.5")
        }
        bar.finish()
        // At 30 s, 60 s, 90 s, and the last step.
        XCTAssertEqual(written.count, 4, "\(written)")
        XCTAssertEqual(written[0], "epoch 1/2 [######..............] 30/100 1.0 steps/s ETA 1:10 loss 0.5\n")
        XCTAssertTrue(written[3].hasPrefix("epoch 1/2 [####################] 100/100 1.0 steps/s ETA 0:00"), written[3])
    }

    func testTerminalModeRedrawsOneLineAndEndsIt() {
        var written: [String] = [], clock = 0.0
        let bar = ProgressBar(terminal: true, write: { written.append($0) }, now: { clock })
        bar.begin("eval", total: 4, unit: "images")
        clock = 2
        bar.update(1)
        bar.update(2)
        bar.finish()
        XCTAssertEqual(written, ["\r\u{1B}[Keval [#####...............] 1/4 0.5 images/s ETA 0:06",
                                 "\r\u{1B}[Keval [##########..........] 2/4 1.0 images/s ETA 0:02", "\n"])
    }

    /// A bar begun with units already done (a resumed run, a bar restarted mid-phase) counts its
    /// rate from those: no rate at all until one more unit is done, never done/(a few µs).
    func testRateCountsOnlyTheUnitsDoneSinceTheBarBegan() {
        var written: [String] = [], clock = 100.0
        let bar = ProgressBar(terminal: false, write: { written.append($0) }, now: { clock })
        bar.begin("baselines", total: 4, unit: "baselines", done: 4)
        clock += 1e-6
        bar.update(4)
        bar.begin("epoch 2/2", total: 10, unit: "steps", done: 5)
        clock += 5
        bar.update(10)
        XCTAssertEqual(written, ["baselines [####################] 4/4\n",
                                 "epoch 2/2 [####################] 10/10 1.0 steps/s ETA 0:00\n"])
    }
}
