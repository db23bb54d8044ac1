import BundlecastCore
import Foundation
import Gossip
@testable import Node
import Testing
import TestSupport

/// A node's pinned keys: rotation, replay, the old --trust at restart, re-pinning.
@Suite struct PublisherKeysTests {
    static func key(_ n: UInt8) -> SecretKey {
        SecretKey.fromSeed([UInt8](repeating: n, count: 32), keyID: KeyID(bytes: [n, 0, 0, 0, 0, 0, 0, n])!)
    }

    let a = key(1), b = key(2), c = key(3)
    let now: UInt64 = 1_800_000_000

    func rotation(epoch: UInt64, from old: SecretKey, to new: SecretKey, floor: UInt64 = 0) throws -> [UInt8] {
        let statement = try RotationStatement(app: "acme", epoch: epoch, oldKeyID: old.keyID, newKey: new.publicKey, floor: floor, created: 1_790_000_000)
        return try SignedRotation.sign(statement, old: old, new: new).bytes
    }

    func notice(sequence: UInt64, key: SecretKey) throws -> [UInt8] {
        let manifest = Array("manifest \(sequence)".utf8)
        let n = try Notice(kind: .release, app: "acme", version: SemanticVersion("1.0.\(sequence)"), sequence: sequence, channel: "stable",
                           manifest: Blake2b.digest256(manifest), size: 1, rollout: 100, created: 1_700_000_000, expires: 1_900_000_000)
        return try SignedNotice(notice: n, manifestBytes: manifest, key: key).bytes
    }

    func change(_ r: Result<PublisherKeys.Acceptance, RotationRefusal>) -> String {
        switch r {
        case .success(let accepted): return accepted.change.rawValue
        case .failure(let refusal): return refusal.reason
        }
    }

    func open(_ dir: String, trust key: SecretKey, repin: Bool = false) throws -> (PublisherKeys, TrustDecision) {
        let (keys, decisions) = try PublisherKeys.open(store: try NodeStore(path: dir + "/node.sqlite"), trusted: ["acme": key.publicKey],
                                                       repin: repin ? ["acme"] : [], now: now)
        return (keys, decisions[0].decision)
    }

    @Test func aRotationRetiresTheOldKeyAndSurvivesARestartWithTheOldTrust() throws {
        try withTemporaryDirectory { (dir: String) throws -> Void in
            let (keys, first) = try open(dir, trust: a)
            #expect(first == .added)
            let inbox = NoticeInbox(intake: NoticeIntake(keys: keys), store: try NodeStore(path: dir + "/node.sqlite"))
            #expect(try inbox.receive(try notice(sequence: 1, key: a), source: "t", now: now).isSuccess)
            #expect(change(try keys.receive(try rotation(epoch: 1, from: a, to: b), source: "t", now: now)) == "rotated")
            #expect(keys.pinned("acme") == PinnedKey(key: b.publicKey, epoch: 1))
            // The old key is refused from now on, by name; the new one is accepted, the sequence going on.
            #expect(try inbox.receive(try notice(sequence: 2, key: a), source: "t", now: now).refusal == "retired_key")
            #expect(try inbox.receive(try notice(sequence: 2, key: b), source: "t", now: now).isSuccess)
            #expect(try inbox.receive(try notice(sequence: 3, key: c), source: "t", now: now).refusal == "wrong_key")
            // The same statement again is no news; an older one, or a gap, is refused.
            #expect(change(try keys.receive(try rotation(epoch: 1, from: a, to: b), source: "t", now: now)) == "known")
            #expect(change(try keys.receive(try rotation(epoch: 1, from: a, to: c), source: "t", now: now)) == "replay")
            #expect(change(try keys.receive(try rotation(epoch: 3, from: b, to: c), source: "t", now: now)) == "gap")
            #expect(keys.statements("acme", after: 0).count == 1)

            // Restarted with the old --trust: the stored key wins.
            let (again, decision) = try open(dir, trust: a)
            #expect(decision == .retired(at: 1, current: PinnedKey(key: b.publicKey, epoch: 1)))
            #expect(again.pinned("acme") == PinnedKey(key: b.publicKey, epoch: 1))
            #expect(change(try again.receive(try rotation(epoch: 1, from: a, to: b), source: "t", now: now)) == "known")
            // A key the chain does not know stops the start, unless re-pinned: a new chain at epoch 0.
            #expect(throws: NodeStoreError.self) { try open(dir, trust: c) }
            let (repinned, how) = try open(dir, trust: c, repin: true)
            #expect(how == .repinned(previous: PinnedKey(key: b.publicKey, epoch: 1)))
            #expect(repinned.pinned("acme") == PinnedKey(key: c.publicKey, epoch: 0))
            #expect(repinned.statements("acme", after: 0).isEmpty)
            // --repin left in place does nothing more.
            #expect(try open(dir, trust: c, repin: true).1 == .unchanged)
        }
    }

    @Test func aNodeSetUpWithTheNewKeyFollowsItsNextRotation() throws {
        try withTemporaryDirectory { (dir: String) throws -> Void in
            let (keys, _) = try open(dir, trust: b)
            #expect(change(try keys.receive(try rotation(epoch: 1, from: a, to: b), source: "t", now: now)) == "known")
            #expect(keys.pinned("acme") == PinnedKey(key: b.publicKey, epoch: 0))
            #expect(change(try keys.receive(try rotation(epoch: 2, from: b, to: c), source: "t", now: now)) == "rotated")
            #expect(keys.pinned("acme") == PinnedKey(key: c.publicKey, epoch: 2))
            #expect(change(try keys.receive(try rotation(epoch: 4, from: c, to: a), source: "t", now: now)) == "gap")
        }
    }

    @Test func aRotationDropsWhatAThiefSignedAboveItsFloor() throws {
        try withTemporaryDirectory { (dir: String) throws -> Void in
            let (keys, _) = try open(dir, trust: a)
            let store = try NodeStore(path: dir + "/node.sqlite")
            let inbox = NoticeInbox(intake: NoticeIntake(keys: keys), store: store)
            #expect(try inbox.receive(try notice(sequence: 3, key: a), source: "publisher", now: now).isSuccess)
            // The thief, holding a, signs the highest sequence there is.
            #expect(try inbox.receive(try notice(sequence: UInt64(Int64.max), key: a), source: "thief", now: now).isSuccess)
            #expect(try inbox.receive(try notice(sequence: 4, key: a), source: "publisher", now: now).refusal == "stale")
            // The publisher rotates, stating 3 as the last sequence a signed for it.
            #expect(change(try keys.receive(try rotation(epoch: 1, from: a, to: b, floor: 3), source: "t", now: now)) == "rotated")
            #expect(try store.latest(app: "acme", channel: "stable")?.notice.sequence == nil)
            #expect(try inbox.receive(try notice(sequence: 4, key: b), source: "publisher", now: now).isSuccess)
            #expect(try inbox.receive(try notice(sequence: UInt64(Int64.max), key: a), source: "thief", now: now).refusal == "retired_key")
        }
    }

    @Test func eachLaggardGetsThreeRelays() {
        var rng = SplitMix64(seed: 42)
        let ahead = (0..<20).map { _ in NodeID.random(using: &rng) }
        for _ in 0..<10 {
            let laggard = NodeID.random(using: &rng)
            let relays = ahead.filter { RotationRelay.isRelay($0, for: laggard, among: ahead) }
            #expect(relays.count == 3)
        }
        #expect(RotationRelay.isRelay(ahead[0], for: ahead[1], among: [ahead[0]]), "alone ahead, a node relays")
    }
}

extension Result {
    var isSuccess: Bool { if case .success = self { true } else { false } }
}

extension Result where Failure == NoticeIntake.Refusal {
    var refusal: String? { if case .failure(let r) = self { r.reason } else { nil } }
}
