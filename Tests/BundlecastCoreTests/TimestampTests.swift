import BundlecastCore
import Testing

@Suite struct TimestampTests {
    let origin = SecretKey.generate()

    func stamp(sequence: UInt64 = 7, created: UInt64 = 1_800_000_000, expires: UInt64 = 1_800_003_600) throws -> SignedTimestamp {
        try SignedTimestamp.sign(app: "acme", channel: "stable", sequence: sequence, created: created, expires: expires, key: origin)
    }

    @Test func aTimestampRoundTripsAndVerifiesOnlyUnderTheOriginKey() throws {
        let t = try stamp()
        #expect(t.text.hasPrefix("bundlecast=1 kind=timestamp app=acme channel=stable sequence=7 created=1800000000 expires=1800003600\norigin-signature "))
        let parsed = try SignedTimestamp(bytes: t.bytes)
        #expect(parsed == t && parsed.isSigned(by: origin.publicKey))
        #expect(!parsed.isSigned(by: SecretKey.generate().publicKey), "another key")
        #expect(SignedTimestamp.looksLike(t.bytes) && !SignedTimestamp.looksLike(Array("untrusted comment: x".utf8)))
        // Any changed field breaks the signature.
        let text = t.text
        for (old, new) in [("sequence=7", "sequence=8"), ("created=1800000000", "created=1800000001"), ("expires=1800003600", "expires=1900003600"),
                           ("app=acme", "app=acmf"), ("channel=stable", "channel=stablf")] {
            let forged = try SignedTimestamp(bytes: Array(text.replacingOccurrences(of: old, with: new).utf8))
            #expect(!forged.isSigned(by: origin.publicKey), "\(new) still verifies")
        }
    }

    @Test func onlyTheCanonicalFormParses() throws {
        let text = try stamp().text
        let bad = [
            text.replacingOccurrences(of: "sequence=7", with: "sequence=07"),
            text.replacingOccurrences(of: " channel=stable", with: "  channel=stable"),
            text.replacingOccurrences(of: "kind=timestamp", with: "kind=release"),
            text.replacingOccurrences(of: "app=acme channel=stable", with: "channel=stable app=acme"),
            String(text.dropLast()),
            text + "\n",
            text.replacingOccurrences(of: "\n", with: "\r\n"),
            text.replacingOccurrences(of: "origin-signature", with: "origin-signatur"),
            text.replacingOccurrences(of: "expires=1800003600", with: "expires=1800000000"),
            String(repeating: "x", count: 600),
        ]
        for b in bad { #expect(throws: TimestampFormatError.self, "\(b.prefix(90))") { try SignedTimestamp(bytes: Array(b.utf8)) } }
    }

    @Test func freshnessIsConfirmedBehindOrStale() throws {
        let hour: UInt64 = 3600
        let t = try stamp(sequence: 7, created: 1_000, expires: 1_000 + hour)
        #expect(Freshness.evaluate(held: 7, timestamp: t, now: 1_100, threshold: hour) == .confirmed(sequence: 7, age: 100))
        #expect(Freshness.evaluate(held: 9, timestamp: t, now: 1_100, threshold: hour) == .confirmed(sequence: 7, age: 100),
                "holding newer than the timestamp (published since) is fine")
        #expect(Freshness.evaluate(held: 6, timestamp: t, now: 1_100, threshold: hour) == .behind(originSequence: 7, held: 6, age: 100))
        #expect(Freshness.evaluate(held: 6, timestamp: t, now: 9_000, threshold: hour) == .behind(originSequence: 7, held: 6, age: 8_000),
                "an old timestamp still proves a newer notice exists")
        #expect(Freshness.evaluate(held: 7, timestamp: t, now: 1_000 + hour + 1, threshold: 2 * hour) == .stale(age: hour + 1), "expired")
        #expect(Freshness.evaluate(held: 7, timestamp: t, now: 1_200, threshold: 100) == .stale(age: 200), "older than the threshold")
        #expect(Freshness.evaluate(held: 7, timestamp: nil, now: 1_200, threshold: hour) == .stale(age: nil))
    }
}
