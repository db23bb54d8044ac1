import BundlecastCore
import Testing
@testable import Node

/// Where a node asks a mirror for each chunk: the first file and offset the manifest gives it.
struct ChunkLocationTests {
    @Test func eachDistinctChunkIsFoundAtItsFirstFileAndOffset() throws {
        func chunk(_ n: UInt8, _ size: UInt32) -> ChunkRef { ChunkRef(digest: Digest256(bytes: [UInt8](repeating: n, count: 32))!, size: size) }
        let a = chunk(1, 16384), b = chunk(2, 20000), c = chunk(3, 100)
        let manifest = try Manifest(app: "acme", version: SemanticVersion("1.0.0"), entries: [
            .file(path: "one", executable: false, chunks: [a, b, c]),
            ManifestEntry(path: "two", kind: .symlink(target: "one")),
            .file(path: "z/three", executable: true, chunks: [b, a, c]),
        ])
        #expect(manifest.distinctChunks == [a, b, c])
        #expect(manifest.chunkLocations == [ChunkLocation(path: "one", offset: 0), ChunkLocation(path: "one", offset: 16384),
                                            ChunkLocation(path: "one", offset: 36384)])
    }
}
