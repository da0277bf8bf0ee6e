// TestSupport: shared by the test targets: repository paths, subprocesses, the installed onnx package.
import Foundation
import XCTest

public enum TestSupport {
    /// The repository root, found from this file's path (tests read fixtures from the source tree,
    /// not from bundle resources, so Package.swift needs no resource rules).
    public static let repoRoot: URL = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// The fixture folder of a test target (Tests/<target>/Fixtures).
    public static func fixtures(of target: String) -> URL {
        repoRoot.appendingPathComponent("Tests").appendingPathComponent(target).appendingPathComponent("Fixtures")
    }

    /// The folder SwiftPM builds products into (where the `s2dc` binary lies during `swift test`).
    public static var productsDirectory: URL {
        for bundle in Bundle.allBundles where bundle.bundlePath.hasSuffix(".xctest") {
            return bundle.bundleURL.deletingLastPathComponent()
        }
        return Bundle.main.bundleURL
    }

    /// The python to ask about onnx: $PYTHON, else the repo's .venv/bin/python, else python3.
    public static var python: String {
        if let p = ProcessInfo.processInfo.environment["PYTHON"], !p.isEmpty { return p }
        let venv = repoRoot.appendingPathComponent(".venv/bin/python").path
        return FileManager.default.isExecutableFile(atPath: venv) ? venv : "python3"
    }

    /// Runs a command and returns (exit status, stdout, stderr); nil if it could not start.
    public static func run(_ executable: String, _ arguments: [String], cwd: URL? = nil) -> (status: Int32, out: String, err: String)? {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = [executable] + arguments
        if let cwd { process.currentDirectoryURL = cwd }
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        do { try process.run() } catch { return nil }
        // Read before waiting so a chatty child cannot block on a full pipe.
        let o = out.fileHandleForReading.readDataToEndOfFile()
        let e = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        var errText = String(decoding: e, as: UTF8.self)
        // A child killed by a signal has no exit code: say so, since the status alone reads like one.
        if process.terminationReason == .uncaughtSignal { errText += "[killed by signal \(process.terminationStatus)]" }
        return (process.terminationStatus, String(decoding: o, as: UTF8.self), errText)
    }

    /// The directory of the installed onnx python package: $ONNX_PACKAGE_DIR, else asked of python.
    public static let onnxPackageDir: String? = {
        if let d = ProcessInfo.processInfo.environment["ONNX_PACKAGE_DIR"], !d.isEmpty { return d }
        guard let r = run(python, ["-c", "import onnx, os; print(os.path.dirname(onnx.__file__))"]), r.status == 0 else {
            return nil
        }
        let dir = r.out.trimmingCharacters(in: .whitespacesAndNewlines)
        return dir.isEmpty ? nil : dir
    }()

    /// The onnx package directory, or an XCTFail explaining how to provide it (never a skip: the
    /// Makefile installs onnx into .venv, so a missing package is a broken setup).
    public static func requireONNXPackage(file: StaticString = #filePath, line: UInt = #line) -> String? {
        if let d = onnxPackageDir { return d }
        XCTFail("""
            cannot find the onnx python package: install onnx into .venv (the Makefile does), or set \
            PYTHON to a python with onnx installed, or ONNX_PACKAGE_DIR to its directory \
            (python used: \(python))
            """, file: file, line: line)
        return nil
    }
}
