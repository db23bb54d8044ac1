import Gossip
import Synchronization

/// Test only (`bundlecast node --test-faults`): the members this node is cut off from, as a
/// network partition would cut it: no datagram, push-pull or transfer connection either way.
/// Set through the admin API (`POST /v1/test/partition`), empty to heal; the admin API then
/// closes the transfer connections already open with the members cut.
public final class Partition: Sendable {
    private struct Cut {
        var addresses: Set<PeerAddress> = []
        var ids: Set<NodeID> = []
    }

    private let cut = Mutex(Cut())

    public init() {}

    func set(addresses: Set<PeerAddress>, ids: Set<NodeID>) {
        cut.withLock { $0 = Cut(addresses: addresses, ids: ids) }
    }

    func blocks(_ address: PeerAddress) -> Bool { cut.withLock { $0.addresses.contains(address) } }
    func blocks(_ id: NodeID) -> Bool { cut.withLock { $0.ids.contains(id) } }
    var isEmpty: Bool { cut.withLock { $0.addresses.isEmpty && $0.ids.isEmpty } }
}
