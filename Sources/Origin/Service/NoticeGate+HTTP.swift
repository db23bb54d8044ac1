import HTTPTypes
import Policy

extension NoticeGate.Refusal {
    /// The origin's answer to a refused notice: its status, its words to the publisher, and the
    /// reason it is counted under. The rule is ``NoticeGate``'s; only the wording is the origin's.
    var originAnswer: (status: HTTPResponse.Status, message: String, reason: String) {
        switch self {
        case .malformed(let why): return (.badRequest, "not a Bundlecast notice: \(why)", "malformed")
        case .untrustedApp(let app): return (.notFound, "unknown app \(app): register it with `bundlecast origin add-app`", "unknown_app")
        case .wrongKey(let app, let signedBy, let pinned):
            return (.forbidden, "signed by key \(signedBy), but \(app) is registered with key \(pinned)", "unknown_key")
        case .retiredKey(let app, let signedBy, let epoch, let pinned):
            return (.forbidden, "signed by key \(signedBy), which the rotation to epoch \(epoch) retired; \(app) is signed by key \(pinned) now", "retired_key")
        case .badSignature(let why): return (.unauthorized, why, "bad_signature")
        case .wrongApp(let notice, let postedTo): return (.forbidden, "the notice is for app \(notice), not \(postedTo)", "wrong_app")
        case .sequenceTooLarge(_, let sequence): return (.badRequest, "sequence \(sequence) is above 2^63-1, the origin's limit", "malformed")
        case .expired(_, _, let at): return (.conflict, "the notice expired at \(at) (Unix time): sign a fresh one", "expired")
        case .stale(let app, _, let sequence, let held):
            return (.conflict, "sequence \(sequence) is not higher than \(held), the highest the origin holds for \(app): release with a higher sequence", "stale")
        }
    }
}

extension APIFailure {
    init(_ refusal: NoticeGate.Refusal) {
        let answer = refusal.originAnswer
        self.init(answer.status, answer.message, reason: answer.reason)
    }
}
