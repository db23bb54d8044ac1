import BundlecastCore
import Policy

/// Intake and store together: the one path by which a notice enters a node.
public struct NoticeInbox: Sendable {
    public let intake: NoticeIntake
    public let store: NodeStore

    public init(intake: NoticeIntake, store: NodeStore) {
        self.intake = intake
        self.store = store
    }

    /// Checks and records a notice. Only an accepted notice may be gossiped
    /// on; every refusal says why (log it once with `source`, count it by
    /// `reason`).
    public func receive(_ bytes: [UInt8], source: String, now: UInt64) throws -> Result<SignedNotice, NoticeIntake.Refusal> {
        switch intake.check(bytes, now: now) {
        case .failure(let refusal):
            return .failure(refusal)
        case .success(let signed):
            switch try store.accept(signed, source: source, now: now) {
            case .accepted: return .success(signed)
            case .stale(let held):
                let n = signed.notice
                return .failure(.stale(app: n.app, channel: n.channel, sequence: n.sequence, held: held))
            }
        }
    }
}
