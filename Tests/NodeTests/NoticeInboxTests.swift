import BundlecastCore
import Foundation
import Gossip
import Node
import Testing
import TestSupport

@Suite struct NoticeInboxTests {
    let publisher = SecretKey.fromSeed([UInt8](repeating: 1, count: 32), keyID: KeyID(bytes: [1, 1, 1, 1, 1, 1, 1, 1])!)
    let other = SecretKey.fromSeed([UInt8](repeating: 2, count: 32), keyID: KeyID(bytes: [2, 2, 2, 2, 2, 2, 2, 2])!)
    let now: UInt64 = 1_800_000_000

    func notice(app: String = "acme", sequence: UInt64, channel: String = "stable", expires: UInt64 = 1_900_000_000,
                key: SecretKey? = nil) throws -> [UInt8] {
        let manifest = Array("manifest \(sequence)".utf8)
        let n = try Notice(kind: .release, app: app, version: SemanticVersion("1.0.\(sequence)"), sequence: sequence, channel: channel,
                           manifest: Blake2b.digest256(manifest), size: 1, rollout: 100, created: 1_700_000_000, expires: expires)
        return try SignedNotice(notice: n, manifestBytes: manifest, key: key ?? publisher).bytes
    }

    func withInbox(_ body: (NoticeInbox, String) throws -> Void) throws {
        try withTemporaryDirectory { (dir: String) throws -> Void in
        let inbox = NoticeInbox(intake: NoticeIntake(trusted: ["acme": publisher.publicKey, "beta": other.publicKey]),
                                store: try NodeStore(path: dir + "/node.sqlite"))
        try body(inbox, dir)
        }
    }

    func reason(_ result: Result<SignedNotice, NoticeIntake.Refusal>) -> String {
        switch result {
        case .success: return "accepted"
        case .failure(let refusal): return refusal.reason
        }
    }

    @Test func onlyTrustedFreshNewerNoticesAreKept() throws {
        try withInbox { inbox, _ in
            #expect(reason(try inbox.receive(try notice(sequence: 5), source: "peer-a", now: now)) == "accepted")
            #expect(reason(try inbox.receive(try notice(sequence: 5), source: "peer-b", now: now)) == "stale")
            #expect(reason(try inbox.receive(try notice(sequence: 4), source: "peer-b", now: now)) == "stale", "rollback")
            #expect(reason(try inbox.receive(try notice(sequence: 6, channel: "beta"), source: "peer-b", now: now)) == "accepted",
                    "channels are separate")
            var forged = String(decoding: try notice(sequence: 9), as: UTF8.self)
            forged = forged.replacingOccurrences(of: "rollout=100", with: "rollout=50")
            #expect(reason(try inbox.receive(Array(forged.utf8), source: "evil", now: now)) == "bad_signature")
            #expect(reason(try inbox.receive(try notice(sequence: 9, key: other), source: "evil", now: now)) == "wrong_key")
            #expect(reason(try inbox.receive(try notice(app: "beta", sequence: 9), source: "evil", now: now)) == "wrong_key",
                    "another app's notice signed by this app's key")
            #expect(reason(try inbox.receive(try notice(app: "gamma", sequence: 9), source: "evil", now: now)) == "untrusted_app")
            #expect(reason(try inbox.receive(try notice(sequence: 9, expires: now - 1), source: "evil", now: now)) == "expired")
            #expect(reason(try inbox.receive(Array("garbage".utf8), source: "evil", now: now)) == "malformed")
            #expect(try inbox.store.latest(app: "acme", channel: "stable")?.notice.sequence == 5)
        }
    }

    @Test func theAcceptedSequenceAndTheNodeIDSurviveARestart() throws {
        try withInbox { inbox, dir in
            let id = try inbox.store.nodeID()
            #expect(reason(try inbox.receive(try notice(sequence: 7), source: "origin", now: now)) == "accepted")
            let reopened = NoticeInbox(intake: inbox.intake, store: try NodeStore(path: dir + "/node.sqlite"))
            #expect(try reopened.store.nodeID() == id)
            #expect(reason(try reopened.receive(try notice(sequence: 6), source: "peer", now: now)) == "stale")
            #expect(reason(try reopened.receive(try notice(sequence: 8), source: "peer", now: now)) == "accepted")
        }
    }

    @Test func aCorruptDatabaseIsOneClearError() throws {
        let path = NSTemporaryDirectory() + "bundlecast-node-" + UUID().uuidString + ".sqlite"
        defer { try? FileManager.default.removeItem(atPath: path) }
        try Data(repeating: 0x33, count: 4096).write(to: URL(fileURLWithPath: path))
        #expect(throws: NodeStoreError.self) { try NodeStore(path: path) }
    }
}

@Suite struct NodeMetadataTests {
    @Test func metadataAlwaysFitsTheGossipLimit() {
        var meta = NodeMetadata(zone: "eu-west-1a", admin: 7947)
        for i in 0..<20 { meta.apps["app-\(i)"] = .init(sequence: UInt64(i), version: "1.0.0-" + String(repeating: "x", count: 60)) }
        let bytes = meta.encoded()
        #expect(bytes.count <= Update.maxMetadataBytes)
        let decoded = NodeMetadata.decode(bytes)
        #expect(decoded?.zone == "eu-west-1a")
        #expect(decoded?.apps["app-0"] != nil, "the first apps in name order are kept")
        let small = NodeMetadata(zone: nil, admin: 1)
        #expect(NodeMetadata.decode(small.encoded()) == small)
    }
}
