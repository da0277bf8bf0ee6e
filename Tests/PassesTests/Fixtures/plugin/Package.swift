// swift-tools-version:5.9
// ExamplePlugin: a pass plugin for `s2dc opt --load-pass-plugin`, built as a shared library.
import PackageDescription

let package = Package(
    name: "ExamplePlugin",
    products: [
        // type: .dynamic makes SwiftPM build libExamplePlugin.so.
        .library(name: "ExamplePlugin", type: .dynamic, targets: ["ExamplePlugin"]),
    ],
    dependencies: [
        // The s2dc package, here by path (four levels up); elsewhere by URL or path to a checkout.
        .package(name: "s2dc", path: "../../../.."),
    ],
    targets: [
        .target(name: "ExamplePlugin", dependencies: [
            .product(name: "Passes", package: "s2dc"),
            .product(name: "IR", package: "s2dc"),
        ]),
    ]
)
