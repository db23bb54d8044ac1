import BundlecastCore
@testable import Origin
import Policy
import Testing

/// How the origin answers each refusal of ``NoticeGate``: the status a publisher sees and the
/// reason `bundlecast_origin_notices_total` counts it under.
@Suite struct NoticeRefusalAnswerTests {
    static let a = KeyID(bytes: [1, 1, 1, 1, 1, 1, 1, 1])!
    static let b = KeyID(bytes: [2, 2, 2, 2, 2, 2, 2, 2])!

    struct Row: Sendable, CustomTestStringConvertible {
        let refusal: NoticeGate.Refusal
        let status: Int
        let reason: String
        var testDescription: String { "\(refusal.reason) → \(status) \(reason)" }
    }

    static let table: [Row] = [
        Row(refusal: .malformed("no signature line"), status: 400, reason: "malformed"),
        Row(refusal: .sequenceTooLarge(app: "acme", sequence: UInt64(Int64.max) + 1), status: 400, reason: "malformed"),
        Row(refusal: .badSignature("signature does not verify"), status: 401, reason: "bad_signature"),
        Row(refusal: .wrongKey(app: "acme", signedBy: b, pinned: a), status: 403, reason: "unknown_key"),
        Row(refusal: .retiredKey(app: "acme", signedBy: b, epoch: 2, pinned: a), status: 403, reason: "retired_key"),
        Row(refusal: .wrongApp(notice: "beta", postedTo: "acme"), status: 403, reason: "wrong_app"),
        Row(refusal: .untrustedApp("acme"), status: 404, reason: "unknown_app"),
        Row(refusal: .expired(app: "acme", sequence: 3, at: 1_700_000_000), status: 409, reason: "expired"),
        Row(refusal: .stale(app: "acme", channel: "stable", sequence: 3, held: 4), status: 409, reason: "stale"),
    ]

    @Test(arguments: table) func answer(_ row: Row) {
        let answer = row.refusal.originAnswer
        #expect(answer.status.code == row.status)
        #expect(answer.reason == row.reason)
    }

    @Test func theWordsAreTheOrigins() {
        #expect(NoticeGate.Refusal.stale(app: "acme", channel: "stable", sequence: 3, held: 4).originAnswer.message
                == "sequence 3 is not higher than 4, the highest the origin holds for acme: release with a higher sequence")
        #expect(NoticeGate.Refusal.wrongKey(app: "acme", signedBy: Self.b, pinned: Self.a).originAnswer.message
                == "signed by key \(Self.b), but acme is registered with key \(Self.a)")
        #expect(NoticeGate.Refusal.expired(app: "acme", sequence: 3, at: 1_700_000_000).originAnswer.message
                == "the notice expired at 1700000000 (Unix time): sign a fresh one")
    }
}
