import BundlecastCore
import Testing

/// A digest names one content, so one length: a manifest that lists a chunk at two sizes is
/// refused, whether it is built or parsed, and one that lists it twice at one size is not.
@Suite struct ChunkSizeTests {
    let shared = Blake2b.digest256(Array("shared".utf8))

    func manifest(_ entries: [ManifestEntry]) throws -> Manifest {
        try Manifest(app: "demo", version: SemanticVersion("1.0.0"), entries: entries)
    }

    func file(_ path: String, size: UInt32) -> ManifestEntry {
        .file(path: path, executable: false, chunks: [ChunkRef(digest: shared, size: size)])
    }

    @Test func aDigestListedAtTwoSizesIsRefused() throws {
        let error = #expect(throws: ManifestError.self) { try manifest([file("a", size: 100), file("b", size: 101)]) }
        #expect(error?.message == "\"b\": chunk \(shared.hex) has size 101 here and 100 in \"a\": one digest, one length")
        // Twice in one file too.
        let twice = ManifestEntry.file(path: "f", executable: false,
                                       chunks: [ChunkRef(digest: shared, size: 20_000), ChunkRef(digest: shared, size: 20_001)])
        #expect(throws: ManifestError.self) { try manifest([twice]) }
    }

    @Test func theParserRefusesADigestAtTwoSizes() throws {
        // Each file line is right for its own chunk list; only the two sizes of one digest are wrong.
        func lines(_ m: Manifest) -> [String] { String(decoding: m.encoded(), as: UTF8.self).split(separator: "\n").map(String.init) }
        let a = lines(try manifest([file("a", size: 100)]))
        let b = lines(try manifest([file("b", size: 101)]))
        // The header (4 lines), then each file line and its chunk line.
        let text = (Array(a[0..<6]) + Array(b[4..<6]) + ["end 2"]).joined(separator: "\n") + "\n"
        let error = #expect(throws: ManifestError.self) { try ManifestCoder.decode(Array(text.utf8)) }
        #expect(error?.message.contains("has size 101 here and 100 in \"a\"") == true, "\(String(describing: error))")
    }

    @Test func aDigestListedTwiceAtOneSizeIsKept() throws {
        let m = try manifest([file("a", size: 100), file("b", size: 100)])
        let decoded = try ManifestCoder.decode(m.encoded())
        #expect(decoded == m && decoded.chunkCount == 2)
    }
}
