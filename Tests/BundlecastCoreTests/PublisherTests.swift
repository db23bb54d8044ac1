import BundlecastCore
import Foundation
import Publisher
import Synchronization
import Testing

@Suite struct PublisherTests {
    @Test func streamingGivesTheSameChunksAsInMemory() throws {
        try withTemporaryDirectory { dir in
            let data = pseudoRandomBytes(5 << 20 + 12345, seed: 9)
            try Data(data).write(to: URL(fileURLWithPath: dir + "/f"))
            let expected = data.withUnsafeBytes { ChunkHasher().chunks(of: $0) }
            // A buffer barely over the maximum chunk forces many carries.
            for size in [(256 << 10) + 1, 300 << 10, 1 << 20, 8 << 20] {
                let streamed = try ChunkHasher(bufferSize: size).chunks(ofFile: dir + "/f", expectedSize: UInt64(data.count))
                #expect(streamed == expected, "buffer \(size)")
            }
        }
    }

    @Test func aFileOfAnotherSizeThanScannedIsRefused() throws {
        try withTemporaryDirectory { dir in
            try write(dir + "/f", "12345")
            #expect(throws: FileError.self) { try ChunkHasher().chunks(ofFile: dir + "/f", expectedSize: 4) }
            #expect(throws: FileError.self) { try ChunkHasher().chunks(ofFile: dir + "/f", expectedSize: 6) }
            #expect(throws: FileError.self) { try ChunkHasher().chunks(ofSmallFile: dir + "/f", expectedSize: 6) }
        }
    }

    /// The file opened must be the one scanned (its device and inode): a directory above it
    /// swapped for a symlink between scan and read would put another tree's file in.
    @Test func aFileThatIsNotTheOneScannedIsRefused() throws {
        try withTemporaryDirectory { dir in
            try write(dir + "/f", "12345")
            try write(dir + "/g", "12345")
            let scanned = try #require(FileStamp.of(dir + "/f")).identity
            #expect(try ChunkHasher().chunks(ofFile: dir + "/f", expectedSize: 5, identity: scanned).count == 1)
            #expect(throws: FileError.self) { try ChunkHasher().chunks(ofFile: dir + "/g", expectedSize: 5, identity: scanned) }
            #expect(throws: FileError.self) { try ChunkHasher().chunks(ofSmallFile: dir + "/g", expectedSize: 5, identity: scanned) }
        }
    }

    /// A FIFO where a file belongs (a manifest, a key, a notice) is refused at once, not
    /// waited on until someone writes to it.
    @Test func aFIFOWhereAFileBelongsIsRefusedWithoutWaiting() throws {
        try withTemporaryDirectory { dir in
            #expect(mkfifo(dir + "/pipe", 0o600) == 0)
            // On another thread: an open that waits for a writer must fail the test, not hang it.
            let done = DispatchSemaphore(value: 0)
            let refused = Mutex(false)
            let path = dir + "/pipe"
            DispatchQueue.global().async {
                do { _ = try PosixFile.readAll(path, limit: 1 << 20) } catch is FileError { refused.withLock { $0 = true } } catch {}
                done.signal()
            }
            #expect(done.wait(timeout: .now() + 10) == .success, "the read waited for a writer")
            #expect(refused.withLock { $0 })
        }
    }

    func request(_ dir: String, _ version: String) throws -> ReleaseRequest {
        ReleaseRequest(bundle: dir + "/bundle", app: "demo", version: try SemanticVersion(version), created: 1_800_000_000)
    }

    @Test func sequencesIncreaseAndVersionsAreChecked() throws {
        try withTemporaryDirectory { dir in
            try write(dir + "/bundle/a.txt", "one")
            let releaser = Releaser(store: ManifestStore(root: dir + "/Manifests"))
            let first = try releaser.release(try request(dir, "1.0.0"), key: testKey)
            #expect(first.notice.notice.sequence == 1)
            #expect(first.notice.notice.expires == 1_800_000_000 + 30 * 86_400)
            try write(dir + "/bundle/a.txt", "two")
            #expect(try releaser.release(try request(dir, "1.1.0"), key: testKey).notice.notice.sequence == 2)
            // Already released.
            #expect(throws: ReleaseError.self) { try releaser.release(try request(dir, "1.1.0"), key: testKey) }
            // Lower, and same precedence: refused unless allowed.
            #expect(throws: ReleaseError.self) { try releaser.release(try request(dir, "1.0.5"), key: testKey) }
            #expect(throws: ReleaseError.self) { try releaser.release(try request(dir, "1.1.0+rebuild"), key: testKey) }
            var downgrade = try request(dir, "1.0.5")
            downgrade.allowDowngrade = true
            #expect(try releaser.release(downgrade, key: testKey).notice.notice.sequence == 3)
            // An explicit sequence must be higher than every one issued.
            var explicit = try request(dir, "2.0.0")
            explicit.sequence = 3
            #expect(throws: ReleaseError.self) { try releaser.release(explicit, key: testKey) }
            explicit.sequence = 10
            #expect(try releaser.release(explicit, key: testKey).notice.notice.sequence == 10)
            #expect(try releaser.release(try request(dir, "2.0.1"), key: testKey).notice.notice.sequence == 11)
            // Nodes and origins take at most 2^63-1: above it nothing is signed, and at it the
            // sequence is exhausted rather than stepping past what anyone accepts.
            var top = try request(dir, "3.0.0")
            top.sequence = Notice.maxSequence + 1
            #expect(throws: ReleaseError.self) { try releaser.release(top, key: testKey) }
            top.sequence = Notice.maxSequence
            #expect(try releaser.release(top, key: testKey).notice.notice.sequence == Notice.maxSequence)
            #expect(throws: ReleaseError.self) { try releaser.release(try request(dir, "3.0.1"), key: testKey) }
        }
    }

    /// A manifest over the 16 MiB a node accepts could be signed but never delivered:
    /// refused before signing, with nothing written. Long paths (4,000 bytes each) reach
    /// the limit with a few thousand empty files instead of a hundred thousand.
    @Test func aManifestOverWhatANodeAcceptsIsRefusedBeforeSigning() throws {
        try withTemporaryDirectory { dir in
            let deep = (0..<15).map { String(repeating: "d", count: 249) + String($0, radix: 16) }.joined(separator: "/")
            try FileManager.default.createDirectory(atPath: dir + "/bundle/" + deep, withIntermediateDirectories: true)
            let files = Manifest.maxEncodedBytes / 4_000 + 64
            for i in 0..<files {
                let name = String(i).padding(toLength: 250, withPad: "f", startingAt: 0)
                #expect(FileManager.default.createFile(atPath: dir + "/bundle/" + deep + "/" + name, contents: nil))
            }
            let releaser = Releaser(store: ManifestStore(root: dir + "/Manifests"))
            #expect {
                try releaser.release(try request(dir, "1.0.0"), key: testKey)
            } throws: { error in
                "\(error)".contains("over the \(Manifest.maxEncodedBytes) a node accepts (\(files) files)")
            }
            #expect(!FileManager.default.fileExists(atPath: dir + "/Manifests/demo/1.0.0.manifest"))
            #expect(try ManifestStore(root: dir + "/Manifests").notices(app: "demo").isEmpty)
        }
    }

    @Test func aRefusedReleaseWritesNothing() throws {
        try withTemporaryDirectory { dir in
            try write(dir + "/bundle/ok", "x")
            symlink("../../outside", dir + "/bundle/escape")
            let releaser = Releaser(store: ManifestStore(root: dir + "/Manifests"))
            #expect(throws: PathError(path: "escape", reason: .symlinkEscapes("../../outside"))) {
                try releaser.release(try request(dir, "1.0.0"), key: testKey)
            }
            #expect(!FileManager.default.fileExists(atPath: dir + "/Manifests/demo/1.0.0.manifest"))
            #expect(try ManifestStore(root: dir + "/Manifests").notices(app: "demo").isEmpty)
        }
    }

    @Test func anEmptyBundleIsRefused() throws {
        try withTemporaryDirectory { dir in
            try FileManager.default.createDirectory(atPath: dir + "/bundle/empty", withIntermediateDirectories: true)
            #expect(throws: ReleaseError.self) {
                try Releaser(store: ManifestStore(root: dir + "/M")).release(try request(dir, "1.0.0"), key: testKey)
            }
        }
    }

    @Test func directoryComparisonTellsUnicodeFormsApart() throws {
        try withTemporaryDirectory { dir in
            try write(dir + "/bundle/caf\u{e9}", "menu")
            let summary = try Releaser(store: ManifestStore(root: dir + "/M")).release(try request(dir, "1.0.0"), key: testKey)
            // The same name decomposed is another file on ext4: as Strings, the two compared equal.
            try FileManager.default.moveItem(atPath: dir + "/bundle/caf\u{e9}", toPath: dir + "/bundle/cafe\u{301}")
            let differences = try DirectoryVerifier.compare(summary.manifest, with: dir + "/bundle")
            #expect(differences.map { Array($0.path.utf8) } == [Array("cafe\u{301}".utf8), Array("caf\u{e9}".utf8)])
            #expect(differences.map(\.kind) == [.extra, .missing])
        }
    }

    @Test func directoryComparisonListsEveryDifference() throws {
        try withTemporaryDirectory { dir in
            try write(dir + "/bundle/same", "same")
            try write(dir + "/bundle/changed", "before")
            try write(dir + "/bundle/gone", "x")
            try write(dir + "/bundle/mode", "x")
            symlink("same", dir + "/bundle/link")
            let summary = try Releaser(store: ManifestStore(root: dir + "/M")).release(try request(dir, "1.0.0"), key: testKey)
            #expect(try DirectoryVerifier.compare(summary.manifest, with: dir + "/bundle").isEmpty)
            try write(dir + "/bundle/changed", "after!")
            try write(dir + "/bundle/extra", "new")
            try FileManager.default.removeItem(atPath: dir + "/bundle/gone")
            chmod(dir + "/bundle/mode", 0o755)
            try FileManager.default.removeItem(atPath: dir + "/bundle/link")
            symlink("changed", dir + "/bundle/link")
            let differences = try DirectoryVerifier.compare(summary.manifest, with: dir + "/bundle").map(\.description)
            #expect(differences == [
                "changed  changed (content differs)",
                "extra    extra",
                "missing  gone",
                "changed  link (symlink to \"changed\", expected \"same\")",
                "changed  mode (executable, expected not)",
            ])
        }
    }

    @Test func diffCountsDistinctChunksToFetch() throws {
        let old = try Manifest(app: "demo", version: SemanticVersion("1.0.0"), entries: [
            .file(path: "a", executable: false, chunks: [chunk(1, 20000), chunk(2, 100)]),
            .file(path: "b", executable: false, chunks: [chunk(3, 30000)]),
        ])
        let new = try Manifest(app: "demo", version: SemanticVersion("1.1.0"), entries: [
            .file(path: "a", executable: false, chunks: [chunk(1, 20000), chunk(4, 200)]),
            .file(path: "c", executable: false, chunks: [chunk(4, 200)]),
            .file(path: "d", executable: false, chunks: [chunk(5, 50000), chunk(3, 30000)]),
        ])
        let diff = ManifestDiff(from: old, to: new)
        #expect(diff.chunks == 2)  // 4 once (shared by a and c) and 5
        #expect(diff.bytes == 50200)
        #expect(diff.totalChunks == 4)
        #expect(diff.totalBytes == 100_400)
        #expect(diff.uniqueBytes == 100_200)
        #expect(diff.filesAdded == 2 && diff.filesRemoved == 1 && diff.filesChanged == 1)
    }
}
