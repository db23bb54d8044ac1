@testable import Node
import Testing

/// A pack is found at start by its file name: only the names the store gives are taken.
@Suite struct ChunkPackNameTests {
    @Test func onlyTheNamesTheStoreGivesAreTaken() {
        for n: UInt32 in [0, 1, 99_999_999, 100_000_000, .max] { #expect(ChunkPack.number(ofName: ChunkPack.name(n)) == n) }
        for name in ["pack-+0000001", "pack-1", "pack-0000001", "pack-00000001x", "pack-", "pack-99999999999", "pack-4294967296",
                     "pack-0100000000", "other-00000001", "pack-٠٠٠٠٠٠٠١"] {
            #expect(ChunkPack.number(ofName: name) == nil, "\(name)")
        }
    }
}
