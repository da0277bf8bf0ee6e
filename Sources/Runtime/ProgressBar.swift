// ProgressBar: the one progress display of every long command: a redrawn line on a terminal, a log line every 30 s otherwise.
import Foundation

/// Shows how far a phase of work is: its name, done/total, the rate, the time left and a detail
/// the caller supplies (e.g. the running loss). On a terminal the line is redrawn in place; when
/// standard error is a file or a pipe, one line is written every `logInterval` seconds and at the
/// end of the phase, so logs stay short.
public final class ProgressBar {
    private let write: (String) -> Void
    private let now: () -> Double
    private let terminal: Bool
    private let logInterval: Double
    private var phase = ""
    private var total = 0
    private var unit = ""
    private var start = 0.0
    /// Units already done when the phase began (a resumed run, a bar restarted mid-phase): the
    /// rate and the time left count only the units done since.
    private var startDone = 0
    private var lastLog = -Double.infinity
    private var drawn = false

    /// A bar on standard error; `terminal` defaults to whether standard error is a terminal.
    public convenience init(terminal: Bool? = nil, logInterval: Double = 30) {
        self.init(terminal: terminal ?? (isatty(2) != 0), logInterval: logInterval,
                  write: { FileHandle.standardError.write(Data($0.utf8)) },
                  now: { Double(DispatchTime.now().uptimeNanoseconds) / 1e9 })
    }

    /// A bar writing through `write` with the clock `now` (seconds), for tests and other sinks.
    public init(terminal: Bool, logInterval: Double = 30, write: @escaping (String) -> Void, now: @escaping () -> Double) {
        self.terminal = terminal
        self.logInterval = logInterval
        self.write = write
        self.now = now
    }

    /// Starts a phase of `total` units (e.g. "epoch 3/10", 468 "steps") of which `done` are done
    /// already (resumed work); the rate and the time left count from here and from `done`.
    public func begin(_ phase: String, total: Int, unit: String, done: Int = 0) {
        finish()
        self.phase = phase
        self.total = total
        self.unit = unit
        startDone = done
        start = now()
        lastLog = start
    }

    /// Reports `done` of the phase's units, with an optional detail appended to the line.
    public func update(_ done: Int, detail: String = "") {
        let t = now()
        let text = line(done, elapsed: t - start, detail: detail)
        if terminal {
            write("\r\u{1B}[K" + text)
            drawn = true
        } else if t - lastLog >= logInterval || done >= total {
            lastLog = t
            write(text + "\n")
        }
    }

    /// Ends the phase's line on a terminal (the next output starts on a fresh line).
    public func finish() {
        if drawn { write("\n") }
        drawn = false
    }

    /// The text of one update: `phase [#####.....] done/total  rate unit/s  ETA m:ss  detail`.
    func line(_ done: Int, elapsed: Double, detail: String) -> String {
        let width = 20, filled = total > 0 ? min(width, max(0, done * width / total)) : 0
        var s = phase + " [" + String(repeating: "#", count: filled) + String(repeating: ".", count: width - filled) + "] "
        s += "\(done)/\(total)"
        if elapsed > 0, done > startDone {
            let rate = Double(done - startDone) / elapsed
            s += String(format: " %.1f %@/s ETA %@", rate, unit, Self.duration(Double(max(0, total - done)) / rate))
        }
        if !detail.isEmpty { s += " " + detail }
        return s
    }

    /// Seconds as m:ss, or h:mm:ss from an hour on.
    static func duration(_ seconds: Double) -> String {
        let s = Int(seconds.rounded())
        return s >= 3600 ? String(format: "%d:%02d:%02d", s / 3600, s / 60 % 60, s % 60) : String(format: "%d:%02d", s / 60, s % 60)
    }
}
