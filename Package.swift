// swift-tools-version:6.0
import PackageDescription

let package = Package(
    name: "Bundlecast",
    platforms: [.macOS(.v15)],
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
            name: "CBlake2b",
            cSettings: [.unsafeFlags(["-O3"])]
        ),
        .target(
            name: "BundlecastCore",
            dependencies: ["CSodium", "CBlake2b"]
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
            dependencies: ["BundlecastCore", "Publisher", "CSodium"]
        ),
        .testTarget(
            name: "CLITests",
            dependencies: ["BundlecastCore"]
        ),
    ],
    swiftLanguageModes: [.v6]
)
