@_exported import TestSupport
import BundlecastCore
import Foundation

/// Deterministic pseudo-random bytes (SplitMix64), so failures reproduce.
func pseudoRandomBytes(_ count: Int, seed: UInt64) -> [UInt8] {
    var state = seed
    var out = [UInt8](repeating: 0, count: count)
    out.withUnsafeMutableBytes { raw in
        var i = 0
        while i < count {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            z ^= z >> 31
            withUnsafeBytes(of: z) { word in
                for j in 0..<min(8, count - i) { raw[i + j] = word[j] }
            }
            i += 8
        }
    }
    return out
}

/// A fixed key for tests that sign: same seed, same signatures.
let testKey = SecretKey.fromSeed([UInt8](repeating: 7, count: 32), keyID: KeyID(bytes: [1, 2, 3, 4, 5, 6, 7, 8])!)

func chunk(_ seed: UInt8, _ size: UInt32) -> ChunkRef {
    ChunkRef(digest: Blake2b.digest256([seed]), size: size)
}
