/// The key an origin or a node trusts for one app, at its place in the app's
/// rotation chain: epoch 0 is the key first pinned, each accepted rotation adds one.
///
/// ``evaluate(_:app:)`` is the one rule, shared by the origin and the nodes,
/// for what a rotation statement does to it:
///
/// | statement | verdict |
/// |---|---|
/// | for another app | refused (`wrong_app`) |
/// | new key = the pinned key, new signature valid | ``RotationVerdict/known``: the statement that brought this key (at any epoch: a machine pinned out of band after that rotation hears it as the chain is caught up); nothing changes |
/// | epoch ≤ current otherwise | refused as a replay (`replay`) |
/// | epoch > current + 1, unless current is 0 | refused (`gap`): the statements in between are missing |
/// | old ≠ the pinned key id | refused (`wrong_old_key`) |
/// | new key equal to the pinned key's bytes under another id | refused (`same_key`) |
/// | a signature that does not verify | refused (`bad_signature`) |
/// | otherwise | ``RotationVerdict/rotated(_:)``: the new key is pinned at the statement's epoch |
///
/// Epochs move only through a rotation the pinned key signed, one at a time. The one
/// exception is epoch 0, a key pinned out of band (`--trust`, a re-pin) whose place in
/// the chain is unknown: its first rotation lands at the statement's epoch. That jump
/// needs the pinned key's own signature, so it gives nothing to a thief the stolen key
/// did not already give; a statement signed by the new key alone never moves the epoch,
/// so a stolen key cannot push the epoch to 2^63-1 and block the rotation away from it.
public struct PinnedKey: Hashable, Sendable, CustomStringConvertible {
    public let key: PublicKey
    public let epoch: UInt64

    public init(key: PublicKey, epoch: UInt64) {
        self.key = key
        self.epoch = epoch
    }

    public var description: String { "key \(key.keyID) (epoch \(epoch))" }

    /// What `bytes` does to this pinned key of `app`; parses first.
    public func evaluate(_ bytes: [UInt8], app: String) -> RotationVerdict {
        do { return evaluate(try SignedRotation(bytes: bytes), app: app) } catch {
            return .refused(.malformed(error.message))
        }
    }

    public func evaluate(_ rotation: SignedRotation, app: String) -> RotationVerdict {
        let s = rotation.statement
        guard s.app == app else { return .refused(.wrongApp(statement: s.app, expected: app)) }
        if s.newKey == key {
            return rotation.isSignedByNewKey ? .known : .refused(.badSignature("the new key's signature does not verify"))
        }
        if s.epoch <= epoch { return .refused(.replay(epoch: s.epoch, current: epoch)) }
        guard s.epoch == epoch + 1 || epoch == 0 else { return .refused(.gap(epoch: s.epoch, current: epoch)) }
        guard s.oldKeyID == key.keyID else { return .refused(.wrongOldKey(old: s.oldKeyID, pinned: key.keyID)) }
        guard s.newKey.key != key.key else { return .refused(.sameKey) }
        guard rotation.isSignedByOldKey(key) else { return .refused(.badSignature("the old key's signature does not verify")) }
        guard rotation.isSignedByNewKey else { return .refused(.badSignature("the new key's co-signature does not verify")) }
        return .rotated(PinnedKey(key: s.newKey, epoch: s.epoch))
    }
}

/// What a rotation statement does to a ``PinnedKey``.
public enum RotationVerdict: Equatable, Sendable {
    /// The new key is pinned from now on; notices signed by the old one are refused, and
    /// every accepted sequence of the app is lowered to the statement's `floor`.
    case rotated(PinnedKey)
    /// The statement that brought the pinned key: nothing to do.
    case known
    case refused(RotationRefusal)
}

/// Why a rotation statement was refused; ``reason`` is the metric and log label.
public enum RotationRefusal: Error, Equatable, Sendable, CustomStringConvertible {
    case malformed(String)
    /// For an app the receiving node does not trust.
    case untrustedApp(String)
    case wrongApp(statement: String, expected: String)
    /// An epoch at or below the pinned one: an old statement sent again.
    case replay(epoch: UInt64, current: UInt64)
    /// An epoch more than one above the pinned one: statements are missing in between.
    case gap(epoch: UInt64, current: UInt64)
    case wrongOldKey(old: KeyID, pinned: KeyID)
    case sameKey
    case badSignature(String)

    public var reason: String {
        switch self {
        case .malformed: return "malformed"
        case .untrustedApp: return "untrusted_app"
        case .wrongApp: return "wrong_app"
        case .replay: return "replay"
        case .gap: return "gap"
        case .wrongOldKey: return "wrong_old_key"
        case .sameKey: return "same_key"
        case .badSignature: return "bad_signature"
        }
    }

    public var description: String {
        switch self {
        case .malformed(let why): return "malformed rotation statement: \(why)"
        case .untrustedApp(let app): return "rotation statement for \(app), which this node does not trust (no --trust \(app)=KEY)"
        case .wrongApp(let statement, let expected): return "the rotation statement is for app \(statement), not \(expected)"
        case .replay(let epoch, let current):
            return "replayed rotation statement: epoch \(epoch) is not above the current epoch \(current)"
        case .gap(let epoch, let current):
            return "rotation statement for epoch \(epoch), but the current epoch is \(current): the statements for epochs \(current + 1)...\(epoch - 1) come first"
        case .wrongOldKey(let old, let pinned):
            return "the rotation statement hands over from key \(old), but the pinned key is \(pinned)"
        case .sameKey: return "the rotation statement's new key is the pinned key under another id"
        case .badSignature(let why): return "forged rotation statement: \(why)"
        }
    }
}
