import BundlecastCore
import Testing

@Suite struct ChunkerTests {
    let chunker = FastCDC()

    func lengths(_ bytes: [UInt8]) -> [Int] {
        bytes.withUnsafeBytes { chunker.chunkLengths($0) }
    }

    @Test func cutsAreAPureFunctionOfTheBytes() {
        let data = pseudoRandomBytes(4 << 20, seed: 1)
        #expect(lengths(data) == lengths(data))
        #expect(lengths(data).reduce(0, +) == data.count)
    }

    @Test func goldenCutPointsOfFormatVersion1() {
        // Pinned: any change to the gear table, masks or loop changes these.
        let data = pseudoRandomBytes(1 << 20, seed: 42)
        #expect(lengths(data) == [85046, 79640, 34657, 87137, 79374, 80793, 68300, 76158, 66836, 90335, 84186, 68554, 53923, 21087, 29066, 43484])
    }

    @Test func minimumAndMaximumSizesHold() {
        let params = ChunkingParameters.v1
        let random = lengths(pseudoRandomBytes(16 << 20, seed: 2))
        #expect(random.dropLast().allSatisfy { $0 >= params.minSize && $0 <= params.maxSize })
        let average = random.reduce(0, +) / random.count
        #expect(average > 40 << 10 && average < 100 << 10, "average \(average) far from 64 KiB")
        // Uniform data never matches the mask: every chunk is cut at the maximum.
        let zeros = lengths([UInt8](repeating: 0, count: 1 << 20))
        #expect(zeros == [262144, 262144, 262144, 262144])
    }

    @Test func emptyAndTinyInputs() {
        #expect(lengths([]) == [])
        #expect(lengths([9]) == [1])
        #expect(lengths([UInt8](repeating: 1, count: 16 << 10)) == [16 << 10])
        #expect(lengths(pseudoRandomBytes((16 << 10) + 1, seed: 3)) == [(16 << 10) + 1])
    }

    @Test func insertingOneByteChangesAtMostThreeChunks() {
        let original = pseudoRandomBytes(64 << 20, seed: 4)
        var edited = original
        edited.insert(0xAB, at: original.count / 2)
        func digests(_ bytes: [UInt8]) -> Set<Digest256> {
            bytes.withUnsafeBytes { raw in
                var offset = 0
                var set = Set<Digest256>()
                for length in chunker.chunkLengths(raw) {
                    set.insert(Blake2b.digest256(UnsafeRawBufferPointer(rebasing: raw[offset..<offset + length])))
                    offset += length
                }
                return set
            }
        }
        let before = digests(original)
        let after = digests(edited)
        #expect(after.subtracting(before).count <= 3)
        #expect(before.subtracting(after).count <= 3)
    }

    @Test func gearTableIsSplitMix64FromItsSeed() {
        var state: UInt64 = 0x6275_6E64_6C65_6373  // "bundlecs"
        var table: [UInt64] = []
        for _ in 0..<256 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            table.append(z ^ (z >> 31))
        }
        #expect(table == gearTableV1)
        #expect(FastCDC.maskSmall.nonzeroBitCount == 18)
        #expect(FastCDC.maskLarge.nonzeroBitCount == 14)
        #expect(FastCDC.maskSmall & FastCDC.maskLarge == FastCDC.maskLarge)
    }
}
