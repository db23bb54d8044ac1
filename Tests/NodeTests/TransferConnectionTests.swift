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
        connection.nextOutgoing(now: now) { _ in room }
    }

    @Test func atMostAMebibyteIsUnwrittenAndTheFirstAnswerAlwaysFits() {
        for i in 0..<8 { connection.enqueue(.manifest(Self.digest(i), size: chunk)) }
        var taken = 0
        while take() != nil { taken += 1 }
        #expect(taken == TransferConnection.maxUnsentBytes / chunk)
        #expect(connection.backlog == (waiting: 8 - taken, unsent: taken * chunk))
        // A write completes: room for one more.
        connection.written(chunk, now: 1)
        #expect(take() != nil)
        #expect(take() == nil)
        // Something larger than the whole budget still goes once the buffer is empty.
        let big = TransferConnection()
        defer { big.hello.fail(ChannelError.ioOnClosedChannel) }
        big.enqueue(.manifest(Self.digest(99), size: 16 << 20))
        #expect(big.nextOutgoing(now: 0) { _ in true } != nil)
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
