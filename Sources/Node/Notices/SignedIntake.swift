import BundlecastCore
import Gossip
import Logging

/// Every signed thing a node takes in (notices, rotation statements, origin timestamps), from
/// whichever source (a peer, the origin, the admin API): checked, recorded, counted and logged
/// in one place.
struct SignedIntake: Sendable {
    let inbox: NoticeInbox
    let keys: PublisherKeys
    let timestamps: OriginTimestamps
    let state: NodeState
    let channel: String
    let logger: Logger
    /// Wakes the updater on an app, or asks the origin for its rotations (``IntakeSignal``).
    let signals: AsyncStream<IntakeSignal>.Continuation
    let now: @Sendable () -> UInt64
    /// Whether this node holds a manifest and every chunk of it.
    let holdsComplete: @Sendable (Digest256) -> Bool

    func notice(_ body: [UInt8], _ source: String) -> Result<SignedNotice, NoticeIntake.Refusal> {
        let result: Result<SignedNotice, NoticeIntake.Refusal>
        do { result = try inbox.receive(body, source: source, now: now()) } catch {
            logger.error("cannot store a notice: \(error)")
            return .failure(.malformed("node database error"))
        }
        switch result {
        case .success(let signed):
            let n = signed.notice
            logger.info("accepted notice", metadata: ["app": "\(n.app)", "version": "\(n.version)", "sequence": "\(n.sequence)", "from": "\(source)"])
            if n.channel == channel {
                // A node that already holds the release (a seed given it through the admin API)
                // says so in the same change, so the fleet hears whom to ask with the version
                // (docs/gossip.md).
                let prefix = String(n.manifest.hex.prefix(16))
                let held = holdsComplete(n.manifest)
                state.updateApp(n.app) { a in
                    a.sequence = n.sequence
                    a.version = n.version.description
                    if held, a.held?.contains(prefix) != true { a.held = (a.held ?? []) + [prefix] }
                }
                wake(n.app)
            }
        case .failure(.stale(_, _, let sequence, let held)) where sequence == held:
            // The same notice again: gossip's normal redundancy, not worth a word.
            _ = state.countRefusal("duplicate", from: source)
        case .failure(let refusal):
            if state.countRefusal(refusal.reason, from: source) {
                logger.warning("dropped notice from \(source): \(refusal)")
            }
            // A key this node does not know: perhaps a rotation it missed.
            if case .wrongKey(let app, _, _) = refusal { requestSync(app) }
        }
        return result
    }

    func rotation(_ body: [UInt8], _ source: String) -> Result<PublisherKeys.Acceptance, RotationRefusal> {
        let result: Result<PublisherKeys.Acceptance, RotationRefusal>
        do { result = try keys.receive(body, source: source, now: now()) } catch {
            logger.error("cannot store a rotation statement: \(error)")
            return .failure(.malformed("node database error"))
        }
        switch result {
        case .success(let accepted) where accepted.change == .rotated:
            logger.notice("rotated publisher key", metadata: ["app": "\(accepted.app)", "epoch": "\(accepted.pinned.epoch)",
                                                             "old": "\(accepted.previous.key.keyID)", "new": "\(accepted.pinned.key.keyID)", "from": "\(source)"])
            // The rotation dropped what the retired key signed above its floor: peers hear this
            // node's sequence as it now stands, so the new key's next notice reaches it.
            let latest = try? inbox.store.latest(app: accepted.app, channel: channel)?.notice
            state.updateApp(accepted.app) {
                $0.epoch = accepted.pinned.epoch
                $0.sequence = latest?.sequence ?? 0
                $0.version = latest?.version.description ?? ""
            }
            wake(accepted.app)
        case .success:
            break
        case .failure(let refusal):
            if state.countRotationRefusal(refusal.reason, from: source) {
                logger.warning("refused rotation statement from \(source): \(refusal)")
            }
        }
        return result
    }

    /// The timestamp if it was new and valid (then it is kept, and the caller passes it on), or why not.
    func timestamp(_ body: [UInt8], _ source: String) -> Result<SignedTimestamp, OriginTimestamps.Refusal> {
        let result = timestamps.receive(body, now: now())
        switch result {
        case .success(let t):
            let held = state.metadata.apps[t.app]?.sequence ?? 0
            if t.sequence > held {
                logger.notice("the origin says \(t.app) #\(t.sequence) exists (timestamp from \(source)); this node holds #\(held)")
            } else {
                logger.debug("origin timestamp", metadata: ["app": "\(t.app)", "sequence": "\(t.sequence)", "from": "\(source)"])
            }
        case .failure(let refusal):
            if let reason = refusal.reason, state.countRefusal(reason, from: source) {
                logger.warning("dropped origin timestamp from \(source): \(refusal)")
            }
        }
        return result
    }

    /// One gossip message type carries all three, told apart by their first bytes.
    func fromPeer(_ body: [UInt8], _ sender: PeerAddress) -> NoticeOutcome {
        let source = "peer \(sender)"
        if SignedTimestamp.looksLike(body) {
            if case .success = timestamp(body, source) { return .accepted }
            return .known
        }
        if SignedRotation.looksLike(body) {
            if case .success(let accepted) = rotation(body, source) { return accepted.change != .known ? .accepted : .known }
            return .refused
        }
        switch notice(body, source) {
        case .success: return .accepted
        case .failure(.stale(_, _, let sequence, let held)) where sequence <= held: return .known
        case .failure: return .refused
        }
    }
}
