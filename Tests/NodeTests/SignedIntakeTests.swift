import BundlecastCore
import Foundation
import Gossip
import Logging
@testable import Node
import Testing
import TestSupport

/// What an accepted notice changes in the metadata the node gossips.
@Suite struct SignedIntakeTests {
    let publisher = SecretKey.fromSeed([UInt8](repeating: 4, count: 32), keyID: KeyID(bytes: [4, 0, 0, 0, 0, 0, 0, 4])!)
    let now: UInt64 = 1_800_000_000

    func notice(sequence: UInt64) throws -> (bytes: [UInt8], manifest: Digest256) {
        let manifest = Array("manifest \(sequence)".utf8)
        let n = try Notice(kind: .release, app: "acme", version: SemanticVersion("1.0.\(sequence)"), sequence: sequence, channel: "stable",
                           manifest: Blake2b.digest256(manifest), size: 1, rollout: 100, created: 1_700_000_000, expires: 1_900_000_000)
        return (try SignedNotice(notice: n, manifestBytes: manifest, key: publisher).bytes, n.manifest)
    }

    /// A node that holds the release already (a seed given it through the admin API) says so in
    /// the change that carries the new version: the fleet hears whom to ask with the version.
    @Test func aReleaseHeldCompleteIsAdvertisedWithItsVersion() throws {
        try withTemporaryDirectory { (dir: String) throws -> Void in
            let store = try NodeStore(path: dir + "/node.sqlite")
            let (keys, _) = try PublisherKeys.open(store: store, trusted: ["acme": publisher.publicKey], repin: [], now: now)
            let state = NodeState(metadata: NodeMetadata(zone: nil, admin: nil))
            let (held, second) = (try notice(sequence: 1), try notice(sequence: 2))
            let (_, signals) = AsyncStream.makeStream(of: IntakeSignal.self)
            let intake = SignedIntake(inbox: NoticeInbox(intake: NoticeIntake(keys: keys), store: store), keys: keys,
                                      timestamps: OriginTimestamps(originKey: nil, channel: "stable", apps: ["acme"]), state: state,
                                      channel: "stable", logger: Logger(label: "test"), signals: signals, now: { now },
                                      holdsComplete: { $0 == held.manifest })

            #expect(throws: Never.self) { try intake.notice(held.bytes, "admin API").get() }
            let app = state.metadata.apps["acme"]
            #expect(app?.sequence == 1 && app?.version == "1.0.1")
            #expect(app?.held == [String(held.manifest.hex.prefix(16))])

            // One it does not hold is only a version: the holding is said once the download is done.
            #expect(throws: Never.self) { try intake.notice(second.bytes, "peer").get() }
            let after = state.metadata.apps["acme"]
            #expect(after?.sequence == 2 && after?.held == [String(held.manifest.hex.prefix(16))])
        }
    }
}
