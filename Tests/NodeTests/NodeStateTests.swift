import Gossip
@testable import Node
import Testing

/// The node's shared state hands each metadata change on through one stream made with it.
@Suite struct NodeStateTests {
    @Test func gossipHearsTheNewestMetadata() async {
        let state = NodeState(metadata: NodeMetadata(zone: nil, admin: nil))
        state.update { $0.admin = 1 }
        state.update { $0.admin = 2 }
        state.update { $0.admin = 2 }
        var changes = state.changes.makeAsyncIterator()
        // Only the newest waits: gossip spreads what holds now, not every step on the way.
        #expect(await changes.next()?.admin == 2)
        state.update { $0.zone = "b" }
        let next = await changes.next()
        #expect(next?.zone == "b" && next?.admin == 2, "a later change follows, on top of the earlier ones")
    }
}
