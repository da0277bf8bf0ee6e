// PluginLoadTests: a plugin built with SwiftPM registers into a registry in this process and runs.

import Foundation
import XCTest
import IR
import Passes
import TestSupport

final class PluginLoadTests: XCTestCase {
    func testPluginRegistersAndRunsInProcess() throws {
        let package = TestSupport.fixtures(of: "PassesTests").appendingPathComponent("plugin")
        let scratchPath = TestSupport.repoRoot.appendingPathComponent(".build/plugin-fixture").path
        let build = try XCTUnwrap(TestSupport.run("swift", ["build", "--package-path", package.path, "--scratch-path", scratchPath]))
        XCTAssertEqual(build.status, 0, build.out + build.err)
        let registry = PassRegistry()
        let names = try PassPlugin.load(path: scratchPath + "/debug/libExamplePlugin.so", into: registry)
        XCTAssertEqual(names, ["clip-to-relu"])
        XCTAssertEqual(registry.descriptor(named: "clip-to-relu")?.options.map(\.name), ["min", "tag"])
        let graph = try assertPipeline("clip-to-relu,dce", """
            graph @g(%x: f32[N,3]) -> (%y) {
              const %unused: f32[2] = dense<[1.0, 2.0]>
              %a = clip(%x) {min = 0.0}
              %y = clip(%a) {min = -1.0}
              return %y
            }
            """, """
            graph @g(%x: f32[N,3]) -> (%y) {
              %a = relu(%x)
              %y = clip(%a) {min = -1.0}
              return %y
            }
            """, registry: registry)
        XCTAssertNoThrow(try Verifier.verify(graph))
        // Loading it again into the same registry is a name clash, reported with the plugin's path.
        XCTAssertThrowsError(try PassPlugin.load(path: scratchPath + "/debug/libExamplePlugin.so", into: registry)) {
            XCTAssertTrue("\($0)".contains("already registered"), "\($0)")
        }
    }

    func testLibraryWithoutEntryPointIsRefused() throws {
        // libswiftCore is a shared library with no s2dc entry point.
        let candidates = ["/usr/lib/swift/linux/libswiftCore.so"] + (ProcessInfo.processInfo.environment["PATH"] ?? "")
            .split(separator: ":").map { URL(fileURLWithPath: String($0)).deletingLastPathComponent().appendingPathComponent("lib/swift/linux/libswiftCore.so").path }
        guard let lib = candidates.first(where: FileManager.default.fileExists(atPath:)) else { return }
        XCTAssertThrowsError(try PassPlugin.load(path: lib, into: PassRegistry())) {
            XCTAssertTrue("\($0)".contains("does not export s2dc_register_passes"), "\($0)")
        }
    }
}
