import Gossip
import Node
import Testing
import TestSupport

@Suite struct BanStoreTests {
    @Test func bansAreKeptForADayThenDropped() throws {
        try withTemporaryDirectory { dir in
            let store = try NodeStore(path: dir + "/node.sqlite")
            let a = NodeID(high: 1, low: 2), b = NodeID(high: 3, low: 4)
            try store.saveBan(a, reason: "bad chunks", at: 1_000)
            try store.saveBan(b, reason: "another manifest", at: 50_000)
            #expect(try store.bans(now: 60_000, lasting: 86_400) == [a, b])
            let reopened = try NodeStore(path: dir + "/node.sqlite")
            #expect(try reopened.bans(now: 1_000 + 86_400 + 1, lasting: 86_400) == [b], "a's day is over")
            #expect(try reopened.bans(now: 1_000, lasting: 86_400) == [b], "and it was dropped for good")
        }
    }
}
