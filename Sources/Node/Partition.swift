import Gossip
import Synchronization

/// Test only (`bundlecast node --test-faults`): the members this node is cut off from, as a
/// network partition would cut it: no datagram, push-pull or transfer connection either way.
/// Set through the admin API (`POST /v1/test/partition`), empty to heal.
public final class Partition: Sendable {
    private let cut = Mutex<(addresses: Set<PeerAddress>, ids: Set<NodeID>)>(([], []))
    /// Called with the newly cut ids (to close open transfer connections).
    let onCut = Hook<Set<NodeID>>()

    public init() {}

    func set(addresses: Set<PeerAddress>, ids: Set<NodeID>) {
        cut.withLock { $0 = (addresses, ids) }
        onCut(ids)
    }

    func blocks(_ address: PeerAddress) -> Bool { cut.withLock { $0.addresses.contains(address) } }
    func blocks(_ id: NodeID) -> Bool { cut.withLock { $0.ids.contains(id) } }
    var isEmpty: Bool { cut.withLock { $0.addresses.isEmpty && $0.ids.isEmpty } }
}
