import Gossip
@testable import Node
import Testing

/// Members' metadata decoded once per change: what the cache hands back is always what the
/// member's current bytes decode to.
@Suite struct NodeMetadataDecodedTests {
    func member(_ n: UInt64, metadata: [UInt8]) -> Member {
        Member(id: NodeID(high: 0, low: n), address: PeerAddress(host: "127.0.0.1", port: UInt16(n)), incarnation: 1,
               status: .alive, metadata: metadata)
    }

    func metadata(version: String) -> [UInt8] {
        var meta = NodeMetadata(zone: nil, admin: nil)
        meta.apps["app"] = .init(sequence: 1, version: version)
        return meta.encoded()
    }

    @Test func aChangedRecordIsDecodedAgainAndABadOneIsNil() {
        let cache = NodeMetadata.Decoded()
        let first = cache.metadata(of: [member(1, metadata: metadata(version: "1.0.0")), member(2, metadata: Array("{".utf8))])
        #expect(first.map { $0?.apps["app"]?.version } == ["1.0.0", nil])
        #expect(cache.metadata(of: [member(1, metadata: metadata(version: "1.0.0"))])[0]?.apps["app"]?.version == "1.0.0")
        let changed = cache.metadata(of: [member(1, metadata: metadata(version: "2.0.0")), member(2, metadata: metadata(version: "3.0.0"))])
        #expect(changed.map { $0?.apps["app"]?.version } == ["2.0.0", "3.0.0"], "new bytes, new record: never the cached one")
    }

    @Test func membersNoLongerPassedAreForgotten() {
        let cache = NodeMetadata.Decoded()
        _ = cache.metadata(of: (1...50).map { member($0, metadata: metadata(version: "1.0.\($0)")) })
        #expect(cache.count == 50)
        _ = cache.metadata(of: [member(7, metadata: metadata(version: "1.0.7"))])
        #expect(cache.count == 1)
    }
}
