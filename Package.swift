// swift-tools-version:6.1
import PackageDescription

let package = Package(
    name: "Bundlecast",
    // Linux is where it is built and tested. macOS 15 is the oldest macOS with the
    // Synchronization module (Mutex, Atomic); the C targets guard their Linux-only calls.
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "bundlecast", targets: ["bundlecast"]),
        .library(name: "BundlecastCore", targets: ["BundlecastCore"]),
        // What the fuzz targets in Fuzz/ check.
        .library(name: "FuzzChecks", targets: ["FuzzChecks"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1", traits: []),
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.10.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-metrics", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-nio-extras", from: "1.35.2"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
    ],
    targets: [
        .systemLibrary(
            name: "CSodium",
            pkgConfig: "libsodium",
            providers: [.apt(["libsodium-dev"])]
        ),
        // No unsafe flags, so that BundlecastCore can be a package dependency: SwiftPM
        // compiles C at -O2 in release, as fast as -O3 for this code, and at -O0 in debug
        // (see the comment at the top of blake2b.c).
        .target(name: "CBlake2b"),
        // Linux-only calls (renameat2, copy_file_range, sync_file_range) are guarded in the
        // C file, with macOS and portable fallbacks.
        .target(name: "CFileOps"),
        .target(name: "CMalloc"),
        .target(
            name: "BundlecastCore",
            dependencies: ["CSodium", "CBlake2b"]
        ),
        // Reading HTTP answers with a limit (the node's and the publisher's origin clients).
        .target(name: "BoundedHTTP"),
        .target(
            name: "Publisher",
            dependencies: ["BundlecastCore"]
        ),
        .target(
            name: "Origin",
            dependencies: [
                "BundlecastCore",
                "BoundedHTTP",
                "Policy",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "NIOHTTPTypes", package: "swift-nio-extras"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ]
        ),
        .target(
            name: "Gossip",
            dependencies: []
        ),
        .target(name: "Swarm", dependencies: ["Gossip"]),
        // The node's rules as pure value types (which notice to accept; when to update, roll back, hold), run by the node, the origin and the simulator.
        .target(name: "Policy", dependencies: ["BundlecastCore", "Gossip"]),
        .target(name: "TransferWire", dependencies: ["BundlecastCore", "Gossip"]),
        .target(name: "FuzzChecks", dependencies: ["BundlecastCore", "Gossip", "Swarm", "TransferWire", "Publisher"]),
        .target(
            name: "Node",
            dependencies: [
                "BundlecastCore",
                "BoundedHTTP",
                "Gossip",
                "Policy",
                "Publisher",
                "Swarm",
                "TransferWire",
                "CFileOps",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOExtras", package: "swift-nio-extras"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        .target(
            name: "Simulation",
            dependencies: ["BundlecastCore", "Gossip", "Policy", "Swarm"]
        ),
        .executableTarget(
            name: "bundlecast",
            dependencies: [
                "BundlecastCore",
                "Publisher",
                "Origin",
                "Node",
                "Gossip",
                "Simulation",
                "CMalloc",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        .target(
            name: "TestSupport",
            path: "Tests/TestSupport"
        ),
        .testTarget(
            name: "BundlecastCoreTests",
            dependencies: ["BundlecastCore", "Publisher", "CSodium", "TestSupport"]
        ),
        // The command line's argument types, in process.
        .testTarget(name: "CommandLineTests", dependencies: ["bundlecast"]),
        .testTarget(
            name: "CLITests",
            dependencies: ["BundlecastCore", "TestSupport"]
        ),
        .testTarget(
            name: "NodeTests",
            dependencies: ["Node", "BundlecastCore", "BoundedHTTP", "Gossip", "Policy", "TransferWire", "FuzzChecks", "TestSupport",
                           // Whether this file system can reserve blocks (StagedTreeTests).
                           "CFileOps",
                           // The content server's routes.
                           .product(name: "NIOHTTP1", package: "swift-nio"),
                           // A fake origin in the test process.
                           .product(name: "Hummingbird", package: "hummingbird"),
                           // Admin routes through the router, frame decoders in an EmbeddedChannel.
                           .product(name: "HummingbirdTesting", package: "hummingbird"),
                           .product(name: "NIOEmbedded", package: "swift-nio"),
                           .product(name: "Logging", package: "swift-log"),
                           // Streams that end at a graceful shutdown.
                           .product(name: "ServiceLifecycle", package: "swift-service-lifecycle")]
        ),
        .testTarget(
            name: "NodeProcessTests",
            dependencies: ["Node", "BundlecastCore", "Gossip", "TestSupport"]
        ),
        .testTarget(
            name: "GossipTests",
            dependencies: ["Gossip", "Simulation"]
        ),
        .testTarget(name: "SwarmTests", dependencies: ["Swarm", "Gossip"]),
        .testTarget(name: "PolicyTests", dependencies: ["Policy", "BundlecastCore", "Gossip"]),
        .testTarget(
            name: "OriginTests",
            dependencies: ["BundlecastCore", "Origin", "TestSupport",
                           // Routes through the router, and the fast path in an EmbeddedChannel, in the test process.
                           .product(name: "Hummingbird", package: "hummingbird"),
                           .product(name: "HummingbirdTesting", package: "hummingbird"),
                           .product(name: "NIOEmbedded", package: "swift-nio"),
                           .product(name: "NIOHTTPTypes", package: "swift-nio-extras"),
                           .product(name: "Logging", package: "swift-log")]
        ),
    ],
    swiftLanguageModes: [.v6]
)
