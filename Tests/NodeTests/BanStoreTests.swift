import Gossip
import Node
import Testing
import TestSupport

@Suite struct BanStoreTests {
    @Test func bansAreKeptForADayThenDropped() throws {
        try withTemporaryDirectory { dir in
            let store = try NodeStore(path: dir + "/node.sqlite")
            let a = NodeID(high: 1, low: 2), b = NodeID(high: 3, low: 4)
            try store.saveBans([(a, "bad chunks")], at: 1_000)
            try store.saveBans([(b, "another manifest"), (a, "bad chunks again")], at: 50_000)
            try store.saveBans([], at: 60_000)
            #expect(try store.bans(now: 60_000, lasting: 86_400) == [a, b])
            let reopened = try NodeStore(path: dir + "/node.sqlite")
            #expect(try reopened.bans(now: 50_000 + 86_400 + 1, lasting: 86_400).isEmpty, "both days are over")
            #expect(try reopened.bans(now: 1_000, lasting: 86_400).isEmpty, "and they were dropped for good")
        }
    }
}
