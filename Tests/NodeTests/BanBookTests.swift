import Gossip
@testable import Node
import Testing

/// What many bans cost: one writer at a time, a bounded queue, a few log lines a minute.
@Suite struct BanBookTests {
    static func peer(_ n: Int) -> NodeID { NodeID(high: 7, low: UInt64(n)) }

    @Test func oneWriterTakesWhatWaitsUntilNothingDoes() {
        var book = BanBook()
        let first = book.queue(Self.peer(1), reason: "a"), second = book.queue(Self.peer(2), reason: "b")
        #expect(first && !second, "the first ban starts the writer; while it is on its way, no second one")
        let batch = book.takeRecords().map(\.peer)
        #expect(batch == [Self.peer(1), Self.peer(2)])
        let during = book.queue(Self.peer(3), reason: "c")
        #expect(!during, "the writer is still running: it takes this on its next turn")
        let next = book.takeRecords().map(\.peer), last = book.takeRecords()
        #expect(next == [Self.peer(3)] && last.isEmpty, "nothing left: the writer stops")
        let again = book.queue(Self.peer(4), reason: "d")
        #expect(again, "and the next ban starts one again")
    }

    @Test func bansPastThePendingLimitAreKeptForThisRunOnly() {
        var book = BanBook()
        for n in 0..<(BanBook.pendingLimit + 5) { _ = book.queue(Self.peer(n), reason: "x") }
        let taken = book.takeRecords().count
        #expect(taken == BanBook.pendingLimit && book.unrecorded == 5)
    }

    @Test func theLogTakesAFewBanLinesAMinuteAndCountsTheRest() {
        var book = BanBook()
        let lines = (0..<(BanBook.linesPerMinute + 3)).map { book.logLine(now: 1_000 + UInt64($0)).log }
        #expect(lines.filter { $0 }.count == BanBook.linesPerMinute)
        #expect(lines.suffix(3) == [false, false, false])
        let next = book.logLine(now: 1_000 + BanBook.minute)
        #expect(next.log && next.quietBefore == 3, "a minute on: logged, with the count it left out")
        let after = book.logLine(now: 1_001 + BanBook.minute)
        #expect(after.quietBefore == 0)
        let back = book.logLine(now: 0)
        #expect(back.log, "a clock that went back opens a new window")
    }
}
