// swift-tools-version:6.0
import PackageDescription

let package = Package(
    name: "Bundlecast",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "bundlecast", targets: ["bundlecast"]),
        .library(name: "BundlecastCore", targets: ["BundlecastCore"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
    ],
    targets: [
        .systemLibrary(
            name: "CSodium",
            pkgConfig: "libsodium",
            providers: [.apt(["libsodium-dev"])]
        ),
        .target(
            name: "BundlecastCore",
            dependencies: ["CSodium"]
        ),
        .target(
            name: "Publisher",
            dependencies: ["BundlecastCore"]
        ),
        .executableTarget(
            name: "bundlecast",
            dependencies: [
                "BundlecastCore",
                "Publisher",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        .testTarget(
            name: "BundlecastCoreTests",
            dependencies: ["BundlecastCore", "Publisher"]
        ),
        .testTarget(
            name: "CLITests",
            dependencies: ["BundlecastCore"]
        ),
    ],
    swiftLanguageModes: [.v6]
)
