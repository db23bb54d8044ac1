import BundlecastCore
import Gossip
@testable import Node
import NIOCore
import NIOPosix
import Testing

/// The per-connection queue of bulk answers: what may be written when, and when a peer that
/// stopped reading is given up on.
@Suite final class TransferConnectionTests {
    let connection = TransferConnection()

    /// Every connection's hello promise must be completed, as a closed channel does.
    deinit { connection.hello.fail(ChannelError.ioOnClosedChannel) }
    static func digest(_ n: Int) -> Digest256 { Blake2b.digest256(Array("chunk \(n)".utf8)) }
    let chunk = 256 << 10

    func take(now: UInt64 = 0, room: Bool = true) -> TransferConnection.Outgoing? {
        connection.nextOutgoing(now: now) { _, _ in room }
    }

    @Test func atMostAMebibyteIsUnwrittenAndTheFirstAnswerAlwaysFits() {
        for i in 0..<8 { connection.enqueue(.manifest(Self.digest(i), size: chunk)) }
        // A peer that has read nothing yet gets one answer at a time.
        #expect(take() != nil)
        #expect(take() == nil)
        // Each answer it takes makes room for two more, up to a mebibyte.
        connection.written(chunk, now: 1)
        var taken = 0
        while take(now: 1) != nil { taken += 1 }
        #expect(taken == 2)
        connection.written(2 * chunk, now: 2)
        taken = 0
        while take(now: 2) != nil { taken += 1 }
        #expect(taken == TransferConnection.maxUnsentBytes / chunk)
        #expect(connection.backlog == (waiting: 8 - 3 - taken, unsent: taken * chunk))
        // A write completes: room for one more.
        connection.written(chunk, now: 3)
        #expect(take(now: 3) != nil)
        #expect(take(now: 3) == nil)
        // Something larger than the whole budget still goes once the buffer is empty.
        let big = TransferConnection()
        defer { big.hello.fail(ChannelError.ioOnClosedChannel) }
        big.enqueue(.manifest(Self.digest(99), size: 16 << 20))
        #expect(big.nextOutgoing(now: 0) { _, _ in true } != nil)
    }

    /// A peer that reads a trickle, just inside the stall time-out, is held to one answer in
    /// the buffer once what it read lies more than two seconds back.
    @Test func aPeerThatReadsATrickleHoldsOneAnswerAtATime() {
        for i in 0..<40 { connection.enqueue(.manifest(Self.digest(i), size: chunk)) }
        var now: UInt64 = 1
        #expect(take(now: now) != nil)
        for _ in 0..<5 {
            now += 25 * DrainMeter.window
            connection.written(chunk, now: now)
            #expect(take(now: now) != nil)
            #expect(take(now: now) != nil, "what it just read makes room for two")
            connection.written(chunk, now: now)
            now += 3 * DrainMeter.window
            #expect(take(now: now) == nil, "three seconds on, its reads are forgotten: one answer is in the buffer")
            #expect(connection.backlog.unsent == chunk)
        }
    }

    /// Answers dropped before the kernel took them (cancelled, unreadable, a failed write)
    /// free their room but do not count as read: cancelling does not open the buffer.
    @Test func answersNeverSentDoNotCountAsRead() {
        for i in 0..<8 { connection.enqueue(.manifest(Self.digest(i), size: chunk)) }
        #expect(take(now: 1) != nil)
        connection.written(chunk, now: 1, taken: false)
        #expect(take(now: 1) != nil)
        #expect(take(now: 1) == nil, "still one at a time")
    }

    @Test func theDrainMeterCountsTheLastOneToTwoSecondsAndStopsAtTheCap() {
        var meter = DrainMeter()
        #expect(meter.allowance(now: 0) == 0)
        meter.add(100, now: 10)
        #expect(meter.allowance(now: 10) == 200)
        meter.add(50, now: DrainMeter.window + 20)
        #expect(meter.allowance(now: DrainMeter.window + 20) == 300, "the previous window still counts")
        #expect(meter.allowance(now: 2 * DrainMeter.window + 30) == 100, "only the last window's 50 left")
        #expect(meter.allowance(now: 5 * DrainMeter.window) == 0)
        meter.add(.max, now: 6 * DrainMeter.window)
        meter.add(.max, now: 6 * DrainMeter.window)
        #expect(meter.allowance(now: 6 * DrainMeter.window) == TransferConnection.maxUnsentBytes)
        meter.add(-5, now: 6 * DrainMeter.window)
        #expect(meter.allowance(now: UInt64.max) == 0, "no overflow at the clock's end")
    }

    @Test func noNodeWideRoomMeansTheAnswerWaits() {
        connection.enqueue(.manifest(Self.digest(1), size: 100))
        #expect(take(room: false) == nil)
        #expect(connection.backlog.waiting == 1)
        #expect(take(room: true) != nil)
    }

    @Test func aPeerThatStopsReadingIsStalledAfterTheTimeOut() {
        #expect(!connection.isStalled(now: 10 * TransferConnection.stallTimeout), "nothing unwritten: not stalled")
        connection.enqueue(.manifest(Self.digest(1), size: 100))
        _ = take(now: 1_000)
        #expect(!connection.isStalled(now: 1_000 + TransferConnection.stallTimeout - 1))
        #expect(connection.isStalled(now: 1_000 + TransferConnection.stallTimeout))
        connection.written(100, now: 2_000 + TransferConnection.stallTimeout)
        #expect(!connection.isStalled(now: 3_000 + TransferConnection.stallTimeout), "all written: not stalled")
    }

    @Test func closingDropsWhatWaitsAndRefusesMore() {
        for i in 0..<3 { connection.enqueue(.manifest(Self.digest(i), size: 10)) }
        #expect(connection.close().count == 3)
        connection.enqueue(.manifest(Self.digest(9), size: 10))
        #expect(take() == nil)
    }

    @Test func onlyManifestsAskedForMayComeManifestSized() {
        #expect(!connection.awaitsManifest)
        connection.askedForManifest(Self.digest(1))
        #expect(connection.awaitsManifest)
        connection.answered(Self.digest(2))
        #expect(connection.awaitsManifest, "an answer for another digest changes nothing")
        connection.answered(Self.digest(1))
        #expect(!connection.awaitsManifest)
    }
}

extension TransferConnection {
    convenience init() { self.init(expect: nil, eventLoop: MultiThreadedEventLoopGroup.singleton.next()) }
}

extension TransferConnectionTests {
    @Test func aSilentPeerWithNothingOfItsWaitingIsIdleAfterTheTimeOut() {
        let quiet = TransferConnection(expect: nil, eventLoop: MultiThreadedEventLoopGroup.singleton.next(), now: 1_000)
        defer { quiet.hello.fail(ChannelError.ioOnClosedChannel) }
        let timeout = TransferConnection.idleTimeout
        #expect(!quiet.isIdle(now: 1_000 + timeout - 1))
        #expect(quiet.isIdle(now: 1_000 + timeout))
        quiet.heard(now: 2_000)
        #expect(!quiet.isIdle(now: 1_000 + timeout) && quiet.isIdle(now: 2_000 + timeout))
        // A request of the peer's still pending: not idle, however long it has been quiet.
        #expect(quiet.admit(Self.digest(1)))
        #expect(!quiet.isIdle(now: 10 * timeout))
        _ = quiet.finish(Self.digest(1))
        #expect(quiet.isIdle(now: 10 * timeout))
    }

    @Test func aCancelCountsOnlyForARequestPending() {
        #expect(!connection.cancel(Self.digest(1)))
        #expect(connection.admit(Self.digest(1)))
        #expect(connection.cancel(Self.digest(1)))
        #expect(connection.finish(Self.digest(1)), "finished as cancelled")
    }

    @Test func anUnprovenSlotIsGivenBackOnce() {
        let accepted = TransferConnection(expect: nil, unprovenAddress: "10.0.0.1", eventLoop: MultiThreadedEventLoopGroup.singleton.next())
        defer { accepted.hello.fail(ChannelError.ioOnClosedChannel) }
        #expect(accepted.returnUnprovenSlot() == "10.0.0.1")
        #expect(accepted.returnUnprovenSlot() == nil)
        #expect(connection.returnUnprovenSlot() == nil, "a dialled connection holds none")
    }
}
