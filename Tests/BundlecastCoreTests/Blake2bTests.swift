import BundlecastCore
import CSodium
import Testing

/// The project's BLAKE2b against libsodium's, the reference it replaces for speed.
@Suite struct Blake2bTests {
    func sodium(_ bytes: [UInt8], length: Int) -> [UInt8] {
        Sodium.ready()
        var out = [UInt8](repeating: 0, count: length)
        _ = crypto_generichash(&out, length, bytes, UInt64(bytes.count), nil, 0)
        return out
    }

    @Test func matchesLibsodiumOnEveryLengthAroundBlockBoundaries() {
        for length in 0...600 {
            let data = pseudoRandomBytes(length, seed: UInt64(length))
            #expect(Blake2b.digest256(data).bytes == sodium(data, length: 32), "length \(length)")
            #expect(Blake2b.digest512(data) == sodium(data, length: 64), "length \(length)")
        }
    }

    @Test func streamingInPiecesMatchesOneShot() {
        let data = pseudoRandomBytes(300_000, seed: 5)
        for piece in [1, 127, 128, 129, 4096, 65536] {
            var h = Blake2b(outputLength: 32)
            var offset = 0
            while offset < data.count {
                let end = min(data.count, offset + piece)
                h.update(Array(data[offset..<end]))
                offset = end
            }
            #expect(h.finalize() == sodium(data, length: 32), "pieces of \(piece)")
        }
    }

    @Test func rfc7693TestVector() {
        // RFC 7693 Appendix A: BLAKE2b-512("abc").
        let expected = "ba80a53f981c4d0d6a2797b69f12f6e94c212f14685ac4b74b12bb6fdbffa2d1"
            + "7d87c5392aab792dc252d5de4533cc9518d38aa8dbf1925ab92386edd4009923"
        #expect(Hex.encode(Blake2b.digest512(Array("abc".utf8))) == expected)
    }
}
