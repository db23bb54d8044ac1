import BundlecastCore
import Foundation
@testable import Node
import Testing
import TestSupport

/// A pack is found at start by its file name: only the names the store gives are taken.
@Suite struct ChunkPackNameTests {
    @Test func onlyTheNamesTheStoreGivesAreTaken() {
        for n: UInt32 in [0, 1, 99_999_999, 100_000_000, .max] { #expect(ChunkPack.number(ofName: ChunkPack.name(n)) == n) }
        for name in ["pack-+0000001", "pack-1", "pack-0000001", "pack-00000001x", "pack-", "pack-99999999999", "pack-4294967296",
                     "pack-0100000000", "other-00000001", "pack-٠٠٠٠٠٠٠١"] {
            #expect(ChunkPack.number(ofName: name) == nil, "\(name)")
        }
    }

    /// A store holding the highest pack number there is (copied, or planted): it opens,
    /// takes chunks, and opens again, with the next pack numbered from the lowest free.
    @Test(arguments: [[UInt32.max - 1, .max], [.max - 1], [.max]])
    func aPackAtTheHighestNumberNeitherTrapsTheStoreNorItsNextWrite(_ planted: [UInt32]) throws {
        try withTemporaryDirectory { (dir: String) throws -> Void in
            try FileManager.default.createDirectory(atPath: dir + "/packs", withIntermediateDirectories: true)
            for n in planted {
                #expect(FileManager.default.createFile(atPath: dir + "/packs/" + ChunkPack.name(n), contents: nil))
            }
            var chunks: [[UInt8]] = []
            do {
                let store = try ChunkStore(root: dir, packSize: 1024)
                for i in 0..<4 {
                    let bytes = [UInt8](repeating: UInt8(i), count: 600)
                    #expect(try store.put(Blake2b.digest256(bytes), bytes))
                    chunks.append(bytes)
                }
            }
            let reopened = try ChunkStore(root: dir, packSize: 1024)
            for bytes in chunks { #expect(try reopened.read(Blake2b.digest256(bytes)) == bytes) }
        }
    }

    /// Live packs on both sides of the numbering's wrap ({2, 3, 4294967295}, pack 1 free):
    /// new packs take 1, then skip the numbers held, and every chunk reads back.
    @Test func numberingPastTheTopSkipsThePacksHeld() throws {
        try withTemporaryDirectory { (dir: String) throws -> Void in
            let chunks = (0..<12).map { [UInt8](repeating: UInt8($0), count: 600) }
            do {
                let store = try ChunkStore(root: dir, packSize: 1024)
                for bytes in chunks.prefix(6) { #expect(try store.put(Blake2b.digest256(bytes), bytes)) }
            }
            let packs = try FileManager.default.contentsOfDirectory(atPath: dir + "/packs").sorted()
            #expect(packs == [1, 2, 3].map { ChunkPack.name($0) })
            try FileManager.default.moveItem(atPath: dir + "/packs/" + ChunkPack.name(1), toPath: dir + "/packs/" + ChunkPack.name(.max))
            do {
                let store = try ChunkStore(root: dir, packSize: 1024)
                for bytes in chunks.suffix(6) { #expect(try store.put(Blake2b.digest256(bytes), bytes)) }
            }
            let reopened = try ChunkStore(root: dir, packSize: 1024)
            for bytes in chunks { #expect(try reopened.read(Blake2b.digest256(bytes)) == bytes) }
        }
    }
}
