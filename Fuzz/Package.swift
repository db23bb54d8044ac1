// swift-tools-version:6.1
// libFuzzer targets for Bundlecast's decoders of untrusted input and the state machines behind them. Built and run by
// `make fuzz` (scripts/fuzz.sh) with -sanitize=fuzzer,address; never by `swift build`
// of the main package, whose products they use.
import PackageDescription

let package = Package(
    name: "BundlecastFuzz",
    platforms: [.macOS(.v15)],
    dependencies: [.package(name: "Bundlecast", path: "..")],
    targets: [
        .target(name: "CFuzzDriver"),
        .executableTarget(name: "FuzzGossipPacket", dependencies: ["CFuzzDriver", .product(name: "FuzzChecks", package: "Bundlecast")]),
        .executableTarget(name: "FuzzTransferFrame", dependencies: ["CFuzzDriver", .product(name: "FuzzChecks", package: "Bundlecast")]),
        .executableTarget(name: "FuzzManifest", dependencies: ["CFuzzDriver", .product(name: "FuzzChecks", package: "Bundlecast")]),
        .executableTarget(name: "FuzzNotice", dependencies: ["CFuzzDriver", .product(name: "FuzzChecks", package: "Bundlecast")]),
        .executableTarget(name: "FuzzTimestamp", dependencies: ["CFuzzDriver", .product(name: "FuzzChecks", package: "Bundlecast")]),
        .executableTarget(name: "FuzzSwimSequence", dependencies: ["CFuzzDriver", .product(name: "FuzzChecks", package: "Bundlecast")]),
        .executableTarget(name: "FuzzSwarmEvents", dependencies: ["CFuzzDriver", .product(name: "FuzzChecks", package: "Bundlecast")]),
        .executableTarget(name: "FuzzIntake", dependencies: ["CFuzzDriver", .product(name: "FuzzChecks", package: "Bundlecast")]),
        .executableTarget(name: "FuzzManifestInstall", dependencies: ["CFuzzDriver", .product(name: "FuzzChecks", package: "Bundlecast")]),
    ],
    swiftLanguageModes: [.v6]
)
