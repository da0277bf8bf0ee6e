// swift-tools-version:5.9
// s2dc: turns a static CNN (ONNX) into a dynamic multi-stage network and emits standalone code.
import PackageDescription

let package = Package(
    name: "s2dc",
    products: [
        .executable(name: "s2dc", targets: ["s2dc"]),
        .library(name: "IR", targets: ["IR"]),
        .library(name: "Passes", targets: ["Passes"]),
        .library(name: "ONNX", targets: ["ONNX"]),
        .library(name: "Runtime", targets: ["Runtime"]),
        .library(name: "Backend", targets: ["Backend"]),
        .library(name: "Search", targets: ["Search"]),
        .library(name: "Report", targets: ["Report"]),
        .library(name: "Convert", targets: ["Convert"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
    ],
    targets: [
        // System libraries, found through pkg-config.
        .systemLibrary(
            name: "CProtobufC", path: "Sources/CProtobufC", pkgConfig: "libprotobuf-c",
            providers: [.apt(["libprotobuf-c-dev"])]),
        .systemLibrary(
            name: "COpenBLAS", path: "Sources/COpenBLAS", pkgConfig: "openblas",
            providers: [.apt(["libopenblas-dev"])]),
        .systemLibrary(
            name: "CZlib", path: "Sources/CZlib", pkgConfig: "zlib",
            providers: [.apt(["zlib1g-dev"])]),
        // protobuf-c code generated from onnx.proto (scripts/regenerate-onnx-proto.sh).
        .target(name: "ONNXProto", dependencies: ["CProtobufC"], path: "Sources/ONNXProto"),

        // The interpreter's hand-vectorized convolution kernels (AVX-512, chosen at run time).
        .target(name: "CKernels", path: "Sources/CKernels"),

        // The graph IR: types, ops, graph, shape inference, cost model, verifier, text form.
        .target(name: "IR", path: "IR"),
        // Pass protocol, manager, registry and built-in passes.
        .target(name: "Passes", dependencies: ["IR"], path: "passes"),
        // ONNX import/export: the only code that sees protobuf.
        .target(name: "ONNX", dependencies: ["IR", "ONNXProto"], path: "Sources/ONNX"),
        // The reference interpreter: kernels on OpenBLAS, NPY/NPZ files, training. It runs the
        // `lower` pass pipeline before executing a graph, hence the dependency on Passes.
        .target(name: "Runtime", dependencies: ["IR", "Passes", "COpenBLAS", "CZlib", "CKernels"], path: "Sources/Runtime"),
        // Code generators: standalone C and Swift inference files (after the `lower` pipeline).
        .target(name: "Backend", dependencies: ["IR", "Passes"], path: "Sources/Backend"),
        // The search: space, strategies, threshold calibration, Pareto front, checkpoints.
        .target(name: "Search", dependencies: ["Passes", "Runtime"], path: "Sources/Search"),
        // convert's report: report.json's schema, the SVG plots, the summary table (no dependencies).
        .target(name: "Report", path: "Sources/Report"),
        // `s2dc convert`'s driver: every phase in order, artifacts and resume in the output folder.
        .target(name: "Convert", dependencies: ["IR", "Passes", "ONNX", "Runtime", "Backend", "Search", "Report"],
                path: "Sources/Convert"),
        // The command-line tool (thin).
        .executableTarget(
            name: "s2dc",
            dependencies: [
                "IR", "Passes", "ONNX", "Runtime", "Backend", "Search", "Report", "Convert",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            path: "Sources/s2dc"),

        // Helpers shared by the test targets (paths, subprocesses, the onnx python package).
        .target(name: "TestSupport", path: "Tests/TestSupport"),
        .testTarget(name: "IRTests", dependencies: ["IR"], path: "Tests/IRTests"),
        .testTarget(
            name: "ONNXTests", dependencies: ["ONNX", "IR", "TestSupport", "NodeTestSupport"], path: "Tests/ONNXTests",
            exclude: ["Fixtures"]),  // read through #filePath, not as bundle resources
        // The ONNX node tests' scope rule, shared by the node-test harnesses.
        .target(name: "NodeTestSupport", dependencies: ["ONNX", "IR"], path: "Tests/NodeTestSupport"),
        .testTarget(
            name: "RuntimeTests", dependencies: ["Runtime", "ONNX", "IR", "TestSupport", "NodeTestSupport"],
            path: "Tests/RuntimeTests",
            exclude: ["Fixtures"]),  // read through #filePath, not as bundle resources
        .testTarget(
            name: "PassesTests", dependencies: ["Passes", "IR", "ONNX", "Runtime", "TestSupport", "NodeTestSupport"],
            path: "Tests/PassesTests",
            exclude: ["Fixtures"]),  // the plugin package, built by a test
        .testTarget(
            name: "BackendTests", dependencies: ["Backend", "ONNX", "IR", "Passes", "Runtime", "TestSupport", "NodeTestSupport"],
            path: "Tests/BackendTests",
            exclude: ["Golden"]),  // read through #filePath, like the other fixtures
        .testTarget(
            name: "TrainingTests", dependencies: ["Runtime", "Passes", "ONNX", "IR", "TestSupport"], path: "Tests/TrainingTests"),
        .testTarget(name: "SearchTests", dependencies: ["Search", "Passes", "Runtime", "IR"], path: "Tests/SearchTests"),
        .testTarget(name: "ReportTests", dependencies: ["Report"], path: "Tests/ReportTests"),
        .testTarget(name: "ConvertTests", dependencies: ["Convert", "Report", "Runtime", "Search", "IR", "ONNX", "TestSupport"], path: "Tests/ConvertTests"),
        .testTarget(name: "s2dcTests", dependencies: ["s2dc", "TestSupport"], path: "Tests/s2dcTests"),

        // Fuzz targets (Tests/Fuzz): the entry points, and one executable each that `make fuzz`
        // links with libFuzzer (built without it, the executable replays saved inputs).
        .target(name: "FuzzTargets", dependencies: ["IR", "Passes", "ONNX"], path: "Tests/Fuzz/FuzzTargets"),
        .executableTarget(name: "fuzz-onnx", dependencies: ["FuzzTargets"], path: "Tests/Fuzz/fuzz-onnx"),
        .executableTarget(name: "fuzz-ir", dependencies: ["FuzzTargets"], path: "Tests/Fuzz/fuzz-ir"),
        .testTarget(
            name: "FuzzTests", dependencies: ["FuzzTargets", "Passes", "TestSupport"], path: "Tests/FuzzTests",
            exclude: ["Fixtures"]),  // the regression inputs, read through #filePath
    ]
)
