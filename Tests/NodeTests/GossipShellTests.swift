import BundlecastCore
import Gossip
import Logging
@testable import Node
import Synchronization
import Testing
import TransferWire

/// The gossip shell in process on loopback: two runtimes that join, hear each other's
/// metadata, and pass a notice on once however often it is retransmitted.
@Suite struct GossipShellTests {
    /// Notices a runtime's intake was handed, in order.
    final class Intake: Sendable {
        let heard = Mutex<[[UInt8]]>([])
        let outcome: NoticeOutcome
        init(outcome: NoticeOutcome) { self.outcome = outcome }
        func receive(_ body: [UInt8]) -> NoticeOutcome {
            heard.withLock { $0.append(body) }
            return outcome
        }
        var count: Int { heard.withLock { $0.count } }
    }

    static func start(_ intake: Intake, metadata: [UInt8] = []) async throws -> GossipRuntime {
        try await GossipRuntime.start(id: NodeIdentity(seed: Sodium.randomBytes(32)).id, settings: .init(), metadata: metadata,
                                      fleetKey: nil, logger: Logger(label: "test"),
                                      onNotice: { body, _ in intake.receive(body) })
    }

    /// Waits for `condition`, at most `seconds`.
    static func eventually(_ seconds: Int = 20, _ condition: () -> Bool) async throws -> Bool {
        let deadline = ContinuousClock.now + .seconds(seconds)
        while !condition() {
            guard ContinuousClock.now < deadline else { return false }
            try await Task.sleep(for: .milliseconds(20))
        }
        return true
    }

    @Test(.timeLimit(.minutes(1))) func membersJoinHearMetadataAndPassANoticeOnOnce() async throws {
        let intakeA = Intake(outcome: .known), intakeB = Intake(outcome: .accepted)
        let a = try await Self.start(intakeA)
        let b = try await Self.start(intakeB)
        b.join([a.me.address])
        #expect(try await Self.eventually { a.members.contains { $0.id == b.me.id && $0.status == .alive } })
        a.setMetadata(Array("zone=x".utf8))
        #expect(try await Self.eventually { b.members.first { $0.id == a.me.id }?.metadata == Array("zone=x".utf8) })

        let notice = Array("bundlecast=1 kind=release app=demo".utf8)
        a.spread(notice: notice)
        #expect(try await Self.eventually { intakeB.count == 1 })
        // B accepted it and spreads it back; A's intake hears it once and calls it known.
        #expect(try await Self.eventually { intakeA.count == 1 })
        // Retransmitted for several rounds: the repeat filter hands it to each intake once.
        try await Task.sleep(for: .seconds(1))
        #expect(intakeB.count == 1 && intakeA.count == 1)
        #expect(intakeB.heard.withLock { $0 } == [notice])
        #expect(b.counterValues.datagramsIn > 0 && a.counterValues.droppedMalformed == 0)
        await b.shutdown()
        await a.shutdown()
    }
}
