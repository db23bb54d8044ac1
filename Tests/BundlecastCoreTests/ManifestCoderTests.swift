import BundlecastCore
import Publisher
import Testing

@Suite struct ManifestCoderTests {
    func sample() throws -> Manifest {
        try Manifest(app: "demo", version: SemanticVersion("1.2.3-rc.1+b7"), entries: [
            .file(path: "a b.txt", executable: false, chunks: [chunk(1, 20000), chunk(2, 5)]),
            .file(path: "bin/tool", executable: true, chunks: [chunk(3, 70000)]),
            .file(path: "empty", executable: false, chunks: []),
            ManifestEntry(path: "link", kind: .symlink(target: "bin/tool")),
        ])
    }

    @Test func roundTripGivesTheSameBytes() throws {
        let m = try sample()
        let bytes = m.encoded()
        let decoded = try ManifestCoder.decode(bytes)
        #expect(decoded == m)
        #expect(decoded.encoded() == bytes)
        #expect(decoded.digest == Blake2b.digest256(bytes))
        #expect(m.totalSize == 90005)
    }

    @Test func theSampleBundleGivesTheGoldenManifest() throws {
        for version in ["1.0.0", "1.1.0"] {
            let items = try BundleScanner.scan(repoRoot + "/Samples/hello-fleet/" + version)
            let entries = try BundleHasher().entries(for: items, root: repoRoot + "/Samples/hello-fleet/" + version)
            let manifest = try Manifest(app: "hello-fleet", version: SemanticVersion(version), entries: entries)
            let golden = try readBytes(repoRoot + "/Manifests/hello-fleet/\(version).manifest")
            #expect(manifest.encoded() == golden)
        }
    }

    /// Each case edits the canonical text in one way that must be refused.
    @Test(arguments: [
        ("extra space", { @Sendable (s: String) in s.replacingOccurrences(of: "app demo", with: "app  demo") }),
        ("trailing space", { s in s.replacingOccurrences(of: "version 1.2.3-rc.1+b7\n", with: "version 1.2.3-rc.1+b7 \n") }),
        ("leading zero in size", { s in s.replacingOccurrences(of: "file x 70000", with: "file x 070000") }),
        ("leading zero in chunk size", { s in s.replacingOccurrences(of: " 20000\n", with: " 020000\n") }),
        ("upper-case hex", { s in s.replacingOccurrences(of: Blake2b.digest256([1]).hex, with: Blake2b.digest256([1]).hex.uppercased()) }),
        ("CRLF", { s in s.replacingOccurrences(of: "\n", with: "\r\n") }),
        ("reordered header", { s in s.replacingOccurrences(of: "app demo\nversion 1.2.3-rc.1+b7\n", with: "version 1.2.3-rc.1+b7\napp demo\n") }),
        ("missing end", { s in s.replacingOccurrences(of: "end 4\n", with: "") }),
        ("wrong entry count", { s in s.replacingOccurrences(of: "end 4\n", with: "end 5\n") }),
        ("text after end", { s in s + "file - 0 x 0 z\n" }),
        ("no final newline", { s in String(s.dropLast()) }),
        ("other chunking", { s in s.replacingOccurrences(of: "16384", with: "8192") }),
        ("size not the chunk sum", { s in s.replacingOccurrences(of: "file x 70000", with: "file x 70001") }),
        ("tab separator", { s in s.replacingOccurrences(of: "symlink link", with: "symlink\tlink") }),
        ("unknown line", { s in s.replacingOccurrences(of: "symlink link", with: "directory link") }),
    ] as [(String, @Sendable (String) -> String)])
    func nonCanonicalInputIsRefused(_ name: String, _ edit: @Sendable (String) -> String) throws {
        let text = String(decoding: try sample().encoded(), as: UTF8.self)
        let edited = edit(text)
        #expect(edited != text, "case \(name) did not change the text")
        #expect(throws: (any Error).self, "case \(name)") { try ManifestCoder.decode(Array(edited.utf8)) }
    }

    @Test func reorderedEntriesAreRefused() throws {
        let text = String(decoding: try sample().encoded(), as: UTF8.self)
        var lines = text.split(separator: "\n").map(String.init)
        // Move the "empty" file entry (one line, no chunks) before "a b.txt".
        let i = try #require(lines.firstIndex { $0.hasSuffix(" empty") })
        let moved = lines.remove(at: i)
        lines.insert(moved, at: 4)
        #expect(throws: ManifestError.self) { try ManifestCoder.decode(Array((lines.joined(separator: "\n") + "\n").utf8)) }
    }

    @Test func aDigestThatDoesNotMatchItsChunksIsRefused() throws {
        let wrong = ManifestEntry(path: "f", kind: .file(executable: false, size: 5, digest: Blake2b.digest256([0]), chunks: [chunk(1, 5)]))
        #expect(throws: ManifestError.self) { try Manifest(app: "demo", version: SemanticVersion("1.0.0"), entries: [wrong]) }
    }

    @Test func chunkSizesOutsideTheFormatAreRefused() throws {
        let small = ManifestEntry.file(path: "f", executable: false, chunks: [chunk(1, 100), chunk(2, 100)])
        #expect(throws: ManifestError.self) { try Manifest(app: "demo", version: SemanticVersion("1.0.0"), entries: [small]) }
        let large = ManifestEntry.file(path: "f", executable: false, chunks: [chunk(1, 262_145)])
        #expect(throws: ManifestError.self) { try Manifest(app: "demo", version: SemanticVersion("1.0.0"), entries: [large]) }
    }

    /// A manifest with one file line `file - SIZE DIGEST COUNT f` and nothing else.
    func oneFileManifest(size: String, count: String, chunkLines: [String] = []) -> [UInt8] {
        let digest = FileDigest.of([]).hex
        let lines = ["bundlecast-manifest 1", "app demo", "version 1.0.0", "chunking fastcdc-v1 16384 65536 262144",
                     "file - \(size) \(digest) \(count) f"] + chunkLines + ["end 1"]
        return Array((lines.joined(separator: "\n") + "\n").utf8)
    }

    @Test func aChunkCountAbove2To63IsRefusedNotTrapped() {
        // 2^63 + 5 passed `count <= size` and trapped in `Int(count)`.
        let huge = "9223372036854775813"
        #expect(throws: ManifestError.self) { try ManifestCoder.decode(oneFileManifest(size: huge, count: huge)) }
    }

    @Test func aChunkCountIsBoundedBySizeAndByTheLinesThatFollow() {
        // Under 2^63 but far more chunks than lines: sizing an array by it would exhaust memory.
        #expect(throws: ManifestError.self) {
            try ManifestCoder.decode(oneFileManifest(size: "18446744073709551615", count: "1125899906842624"))
        }
        #expect(throws: ManifestError.self) { try ManifestCoder.decode(oneFileManifest(size: "1000000", count: "1000")) }
    }

    @Test func sizesAboveTheBundleLimitAreRefused() {
        #expect(throws: ManifestError.self) {
            try ManifestCoder.decode(oneFileManifest(size: String(Manifest.maxSize + 1), count: "0"))
        }
    }

    @Test func integersAreExactTo2To64() {
        #expect(DecimalNumber.parse("18446744073709551615") == UInt64.max)
        #expect(DecimalNumber.parse("18446744073709551616") == nil)
        #expect(DecimalNumber.parse("0") == 0)
        #expect(DecimalNumber.parse("00") == nil)
        #expect(DecimalNumber.parse("-1") == nil)
        #expect(DecimalNumber.parse("+1") == nil)
        #expect(DecimalNumber.parse("") == nil)
    }
}
