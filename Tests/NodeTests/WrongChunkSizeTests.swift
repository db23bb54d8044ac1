import BundlecastCore
import Foundation
import Gossip
@testable import Node
import Swarm
import Testing
import TestSupport

/// A signed manifest may give a chunk a size its bytes do not have (one size per digest is all
/// the parser can check). That is the manifest's fault: the peer that sends the true bytes is
/// not struck, the store keeps them, and nothing is written past the chunk's place in a file.
@Suite struct WrongChunkSizeTests {
    /// `manifest` as version `version`, with chunk `chunk` of the file at `path` listed at
    /// `size` (the file's size and digest follow from its chunk list, so it is a valid manifest).
    static func resized(_ manifest: Manifest, path: String, chunk: Int, to size: UInt32, version: String = "1.0.1") throws -> Manifest {
        let entries = manifest.entries.map { entry -> ManifestEntry in
            guard entry.path == path, case .file(let executable, _, _, let listed) = entry.kind else { return entry }
            var chunks = listed
            chunks[chunk] = ChunkRef(digest: listed[chunk].digest, size: size)
            return .file(path: entry.path, executable: executable, chunks: chunks)
        }
        return try Manifest(app: manifest.app, version: SemanticVersion(version), entries: entries)
    }

    @Test(.timeLimit(.minutes(1))) func trueBytesAtAnotherSizeFailTheDownloadAndStrikeNoOne() async throws {
        try await withTemporaryDirectory { dir in
            let (seed, manifest) = try await TransferShellTests.seed(dir)
            // share/data's only chunk, listed a byte longer than it is.
            let small = manifest.entries[2].chunks[0]
            let wrong = try Self.resized(manifest, path: "share/data", chunk: 0, to: small.size + 1)
            _ = try seed.node.manifests.put(wrong.encoded(), digest: wrong.digest)
            let fetcher = try await TransferShellTests.Peer.start(dir + "/fetcher")
            var strict = FetchSettings()
            strict.swarm.strikesToBan = 1
            let settings = strict
            let expected = InstallError.wrongChunkSize(small.digest, listed: small.size + 1, actual: Int(small.size))
            await #expect(throws: expected) {
                try await fetcher.downloads.chunks(of: wrong, digest: wrong.digest, settings: settings,
                                                   candidates: { [seed.candidate] }) { _, _ in }
            }
            // At one strike to a ban, bytes taken for bad would have banned the seed.
            #expect(!fetcher.node.isBanned(seed.node.id))
            #expect(fetcher.node.counters.badChunks == 0)
            #expect(!fetcher.node.chunks.contains(small.digest), "nothing of a release that cannot install is stored")
            await fetcher.node.shutdown()
            await seed.node.shutdown()
        }
    }

    @Test func installRefusesAStoredChunkAtAnotherSizeAndKeepsIt() throws {
        try withTemporaryDirectory { dir in
            let (manifest, store) = try InstallerTests.fixture(dir)
            // bin/tool's first chunk (70,000 bytes) listed a byte short: copied whole, it would
            // overwrite the first byte of the chunk after it.
            let first = manifest.entries[0].chunks[0]
            let wrong = try Self.resized(manifest, path: "bin/tool", chunk: 0, to: first.size - 1)
            let expected = InstallError.wrongChunkSize(first.digest, listed: first.size - 1, actual: Int(first.size))
            // Verified by this process: refused before the store copies it.
            #expect(throws: expected) { try Installer(appsRoot: dir + "/apps", chunks: store).materialize(wrong) }
            #expect(store.contains(first.digest))
            // Found on disk at start: read, checked against its digest, then refused for its length, and kept.
            let reopened = try ChunkStore(root: dir + "/chunks")
            let installer = Installer(appsRoot: dir + "/apps", chunks: reopened)
            #expect(throws: expected) { try installer.materialize(wrong) }
            #expect(reopened.contains(first.digest) && reopened.isVerified(first.digest), "a good chunk is not dropped")
            #expect(try FileManager.default.contentsOfDirectory(atPath: dir + "/apps/demo").isEmpty, "no tree and no staging left")
            // The release as signed rightly installs from the same store.
            try installer.verifyTree(manifest, at: try installer.materialize(manifest))
        }
    }

    @Test func aStagedTreeWritesNoChunkAtAnotherSize() throws {
        try withTemporaryDirectory { dir in
            let (manifest, store) = try InstallerTests.fixture(dir)
            let first = manifest.entries[0].chunks[0]
            let wrong = try Self.resized(manifest, path: "bin/tool", chunk: 0, to: first.size - 1)
            let installer = Installer(appsRoot: dir + "/apps", chunks: store)
            let expected = InstallError.wrongChunkSize(first.digest, listed: first.size - 1, actual: Int(first.size))
            // Copied from the store: the tree fails before the copy.
            let filled = try StagedTree(wrong, installer: installer)
            filled.fill(from: store)
            #expect(!filled.isComplete && filled.problem == expected.description)
            filled.abandon()
            // Written as it arrives (bytes that match their digest): not written either.
            let arriving = try StagedTree(wrong, installer: installer)
            let bytes = try #require(try store.read(first.digest))
            arriving.write(first.digest, bytes)
            #expect(arriving.problem == expected.description)
            #expect(throws: UpdateError.self) { _ = try arriving.commit() }
            // Install gives the staged tree up and refuses the manifest; the chunk stays.
            #expect(throws: expected) { try installer.materialize(wrong, staged: arriving) }
            #expect(store.contains(first.digest))
            #expect(try FileManager.default.contentsOfDirectory(atPath: dir + "/apps/demo").isEmpty)
        }
    }
}
