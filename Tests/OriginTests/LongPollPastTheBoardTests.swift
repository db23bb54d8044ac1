import BundlecastCore
import Foundation
import HTTPTypes
import HummingbirdTesting
@testable import Origin
import Testing

/// A long-poll whose `after` is above what the origin holds waits like any other (a node may
/// hold a notice given to it directly before the origin has it), until a rotation lowers the
/// board below it: then no notice published next could pass it, and it is answered at once.
@Suite struct LongPollPastTheBoardTests {
    static func stored(_ sequence: UInt64, channel: String = "stable") -> StoredNotice {
        StoredNotice(app: "acme", channel: channel, sequence: sequence, body: Array("notice \(sequence)\n".utf8))
    }

    @Test func aWaitAboveTheBoardWaitsForANewerNotice() async {
        let board = NoticeBoard([Self.stored(5)])
        let above = await board.wait(app: "acme", channel: "stable", after: 1000, seconds: 1)
        #expect(above == .timedOut)
        let below = await board.wait(app: "acme", channel: "stable", after: 4, seconds: 30)
        #expect(below == .notice(Self.stored(5)))
    }

    /// A rotation that takes the board below a waiting `after` (the retired key's notice dropped)
    /// answers that wait at once with what is left.
    @Test func aRotationThatLowersTheBoardAnswersThoseWaitingPastIt() async throws {
        let board = NoticeBoard([Self.stored(9), Self.stored(9, channel: "beta")])
        async let stable = board.wait(app: "acme", channel: "stable", after: 9, seconds: 30)
        async let beta = board.wait(app: "acme", channel: "beta", after: 9, seconds: 30)
        let deadline = ContinuousClock.now + .seconds(10)
        while board.waiting < 2, ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(5)) }
        board.replace(app: "acme", with: [Self.stored(5)])
        let stableResult = await stable
        let betaResult = await beta
        #expect(stableResult == .notice(Self.stored(5)))
        #expect(betaResult == .noneHeld)
        #expect(board.waiting == 0)
    }

    /// A statement posted again (`known`) replaces the board with what it held: no wait ends.
    @Test func aBoardReplacedByTheSameNoticesWakesNoOne() async throws {
        let board = NoticeBoard([Self.stored(9)])
        async let above = board.wait(app: "acme", channel: "stable", after: 12, seconds: 2)
        let deadline = ContinuousClock.now + .seconds(10)
        while board.waiting < 1, ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(5)) }
        board.replace(app: "acme", with: [Self.stored(9)])
        #expect(board.waiting == 1)
        let result = await above
        #expect(result == .timedOut)
    }
}
