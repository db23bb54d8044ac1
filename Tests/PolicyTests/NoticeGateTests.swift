import BundlecastCore
import Foundation
import Policy
import Synchronization
import Testing

/// The one notice rule of the node, the origin and the simulator: what it lets in, and why it
/// refuses the rest.
struct NoticeGateTests {
    static let now: UInt64 = 1_800_000_000
    static let publisher = key(1)
    static let stranger = key(2)
    /// The key `acme` was signed with before the rotation to epoch 3.
    static let retired = key(3)
    static let gate = NoticeGate(trusted: ["acme": publisher.publicKey], retired: ["acme": [retired.keyID: 3]])

    static func key(_ n: UInt8) -> SecretKey {
        SecretKey.fromSeed([UInt8](repeating: n, count: 32), keyID: KeyID(bytes: [UInt8](repeating: n, count: 8))!)
    }

    static func notice(app: String = "acme", sequence: UInt64 = 5, expires: UInt64 = 1_900_000_000,
                       key: SecretKey = publisher) -> [UInt8] {
        let manifest = Array("manifest \(sequence)".utf8)
        let n = try! Notice(kind: .release, app: app, version: SemanticVersion("1.0.\(sequence % 1000)"), sequence: sequence, channel: "stable",
                            manifest: Blake2b.digest256(manifest), size: 1, rollout: 100, created: 1_700_000_000, expires: expires)
        return try! SignedNotice(notice: n, manifestBytes: manifest, key: key).bytes
    }

    /// A notice that must be refused, and the reason it is counted under.
    struct Refused: Sendable, CustomTestStringConvertible {
        let testDescription: String
        let bytes: [UInt8]
        var postedTo: String? = nil
        let reason: String
    }

    static let refusals: [Refused] = [
        Refused(testDescription: "not a notice", bytes: Array("garbage".utf8), reason: "malformed"),
        Refused(testDescription: "an app nobody trusts", bytes: notice(app: "gamma"), reason: "untrusted_app"),
        Refused(testDescription: "a stranger's key", bytes: notice(key: stranger), reason: "wrong_key"),
        Refused(testDescription: "a key a rotation retired", bytes: notice(key: retired), reason: "retired_key"),
        Refused(testDescription: "a signed field changed",
                bytes: Array(String(decoding: notice(), as: UTF8.self).replacingOccurrences(of: "rollout=100", with: "rollout=50").utf8),
                reason: "bad_signature"),
        Refused(testDescription: "posted for another app", bytes: notice(app: "beta"), postedTo: "acme", reason: "wrong_app"),
        Refused(testDescription: "a sequence no store can hold", bytes: notice(sequence: UInt64(Int64.max) + 1), reason: "malformed"),
        Refused(testDescription: "expired", bytes: notice(expires: now - 1), reason: "expired"),
    ]

    @Test(arguments: refusals) func refused(_ row: Refused) {
        switch Self.gate.check(row.bytes, postedTo: row.postedTo, now: Self.now) {
        case .success: Issue.record("let in: \(row.testDescription)")
        case .failure(let refusal): #expect(refusal.reason == row.reason, "\(refusal)")
        }
    }

    @Test func aGenuineNoticeIsLetIn() throws {
        let signed = try Self.gate.check(Self.notice(), now: Self.now).get()
        #expect(signed.notice.app == "acme" && signed.notice.sequence == 5)
        #expect(throws: Never.self) { try Self.gate.check(Self.notice(), postedTo: "acme", now: Self.now).get() }
    }

    @Test func theKeysAreAskedAtEachCheck() {
        // A rotation lands between two checks: the same notice is let in, then refused.
        let pinned = Mutex(Self.publisher.publicKey)
        let gate = NoticeGate(key: { $0 == "acme" ? pinned.withLock { $0 } : nil }, retirement: { _, _ in nil })
        #expect((try? gate.check(Self.notice(), now: Self.now).get()) != nil)
        pinned.withLock { $0 = Self.stranger.publicKey }
        #expect(throws: NoticeGate.Refusal.wrongKey(app: "acme", signedBy: Self.publisher.keyID, pinned: Self.stranger.keyID)) {
            try gate.check(Self.notice(), now: Self.now).get()
        }
    }

    @Test func refusalsSayWhatHappenedInTheNodesWords() throws {
        let check = { (bytes: [UInt8]) in "\(Self.gate.check(bytes, now: Self.now))" }
        #expect(check(Self.notice(app: "gamma")).contains("notice for gamma, which this node does not trust (no --trust gamma=KEY)"))
        #expect(check(Self.notice(key: Self.retired)).contains("which the rotation to epoch 3 retired; the pinned key is \(Self.publisher.keyID)"))
        #expect(check(Self.notice(expires: Self.now - 1)).contains("expired notice acme #5 (expired at \(Self.now - 1))"))
        let n = try SignedNotice(bytes: Self.notice()).notice
        #expect(NoticeGate.stale(n, held: 7).description == "stale notice acme/stable #5: this node already accepted #7")
    }

    /// Sequences only go up: (sequence, held, newer).
    @Test(arguments: [(5, nil, true), (5, 4, true), (5, 5, false), (5, 6, false), (UInt64(Int64.max), nil, true),
                      (UInt64(Int64.max) + 1, nil, false), (UInt64(Int64.max) + 1, 7, false)] as [(UInt64, UInt64?, Bool)])
    func newer(sequence: UInt64, held: UInt64?, newer: Bool) throws {
        let n = try SignedNotice(bytes: Self.notice(sequence: sequence)).notice
        #expect(NoticeGate.isNewer(n, than: held) == newer)
    }
}
