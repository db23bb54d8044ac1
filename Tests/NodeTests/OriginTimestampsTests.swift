import BundlecastCore
@testable import Node
import Testing

@Suite struct OriginTimestampsTests {
    let origin = SecretKey.generate()
    let now: UInt64 = 1_800_000_000

    func stamp(_ sequence: UInt64, created: UInt64? = nil, app: String = "acme", channel: String = "stable", key: SecretKey? = nil) throws -> [UInt8] {
        let c = created ?? now
        return try SignedTimestamp.sign(app: app, channel: channel, sequence: sequence, created: c, expires: c + 3600, key: key ?? origin).bytes
    }

    @Test func onlyFreshTimestampsSignedByThePinnedOriginKeyAreKept() throws {
        let t = OriginTimestamps(originKey: origin.publicKey, channel: "stable", apps: ["acme"])
        #expect(t.freshness(app: "acme", held: 3, now: now, threshold: 3600) == .stale(age: nil))
        #expect(throws: Never.self) { try t.receive(stamp(3), now: now).get() }
        #expect(t.freshness(app: "acme", held: 3, now: now + 10, threshold: 3600) == .confirmed(sequence: 3, age: 10))
        #expect(t.receive(try stamp(3), now: now) == .failure(.notNewer), "the same again")
        #expect(t.receive(try stamp(5, key: SecretKey.generate()), now: now).failure?.reason == "timestamp_forged")
        #expect(t.receive(try stamp(5, created: now - 7200), now: now).failure?.reason == "timestamp_expired")
        #expect(t.receive(try stamp(5, created: now + 3600), now: now).failure?.reason == "timestamp_future")
        #expect(t.receive(try stamp(5, app: "other"), now: now).failure?.reason == nil, "not followed: ignored, not counted")
        #expect(t.receive(try stamp(5, channel: "beta"), now: now).failure?.reason == nil)
        #expect(t.receive(Array("bundlecast=1 kind=timestamp garbage\n".utf8), now: now).failure?.reason == "timestamp_malformed")
        // A newer one names sequence 5 while the node holds 3: behind.
        #expect(throws: Never.self) { try t.receive(stamp(5, created: now + 60), now: now + 60).get() }
        #expect(t.freshness(app: "acme", held: 3, now: now + 70, threshold: 3600) == .behind(originSequence: 5, held: 3, age: 10))
    }

    @Test func withoutAnOriginKeyNothingIsChecked() throws {
        let t = OriginTimestamps(originKey: nil, channel: "stable", apps: ["acme"])
        #expect(t.receive(try stamp(1), now: now) == .failure(.noOriginKey))
        #expect(t.freshness(app: "acme", held: 1, now: now, threshold: 3600) == nil)
    }
}

extension Result {
    var failure: Failure? { if case .failure(let f) = self { return f }; return nil }
}
