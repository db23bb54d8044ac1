import BundlecastCore
import Foundation
import Gossip
import Logging
import NIOCore
import NIOEmbedded
@testable import Node
import Synchronization
import Testing
import TestSupport
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

    /// Waits until `count` stops rising for 20 ms, at most 2 s.
    static func settle(_ count: () -> Int) async throws {
        let deadline = ContinuousClock.now + .seconds(2)
        var last = -1
        while count() != last, ContinuousClock.now < deadline {
            last = count()
            try await Task.sleep(for: .milliseconds(20))
        }
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

    /// Every notice costs a signature check off the event loop: past
    /// ``GossipRuntime/maxNoticeChecks`` waiting, the rest are dropped and counted, not queued.
    @Test(.timeLimit(.minutes(1))) func noticesBeyondTheChecksQueuedAreDroppedNotQueued() async throws {
        let open = Mutex(false)
        let heard = Mutex(0)
        let runtime = try await GossipRuntime.start(id: NodeIdentity(seed: Sodium.randomBytes(32)).id, settings: .init(), metadata: [],
                                                    fleetKey: nil, logger: Logger(label: "test"),
                                                    onNotice: { _, _ in
                                                        while !open.withLock({ $0 }) { usleep(1_000) }
                                                        heard.withLock { $0 += 1 }
                                                        return .refused
                                                    })
        let sender = NodeID(high: 9, low: 9)
        let total = GossipRuntime.maxNoticeChecks * 3
        for i in 0..<total {
            let body = Array("bundlecast=1 kind=release app=demo n=\(i)".utf8)
            sendDatagram(GossipCodec.encodeDatagram(.notice(from: sender, body: body)), toPort: Int(runtime.me.address.port))
            // Paced by what the runtime has read, so that a busy machine does not leave more
            // waiting in the socket's buffer than the kernel keeps (it drops the rest).
            if i % 100 == 99 { try await Self.settle { runtime.counterValues.datagramsIn } }
        }
        // More came than may wait: the rest were dropped (the kernel may drop some datagrams
        // too, never enough to leave fewer than the bound here).
        #expect(try await Self.eventually(10) { (runtime.counterValues.droppedBusy ?? 0) > 0 })
        #expect(runtime.noticeChecks.load(ordering: .relaxed) <= GossipRuntime.maxNoticeChecks)
        open.withLock { $0 = true }
        #expect(try await Self.eventually(10) { runtime.noticeChecks.load(ordering: .relaxed) == 0 })
        let dropped = runtime.counterValues.droppedBusy ?? 0
        #expect(heard.withLock { $0 } <= total - dropped)
        await runtime.shutdown()
    }

    /// A ping-req naming an address the kernel will not send to (a broadcast address, the
    /// other address family) costs that one datagram: the socket stays open, and the node
    /// still hears and reaches the others. Through NIO's channel such a send closed the
    /// socket, and the node was deaf to gossip for good.
    @Test(.timeLimit(.minutes(1))) func aSendTheKernelRefusesDropsTheDatagramNotTheSocket() async throws {
        let intakeA = Intake(outcome: .accepted), intakeB = Intake(outcome: .accepted)
        let a = try await Self.start(intakeA)
        let stranger = NodeID(high: 0xBAD, low: 0xBAD)
        for target in [PeerAddress(host: "255.255.255.255", port: 9), PeerAddress(host: "::1", port: 9)] {
            sendDatagram(GossipCodec.encodeDatagram(.pingReq(seq: 1, from: stranger, target: target, updates: [])), toPort: Int(a.me.address.port))
        }
        #expect(try await Self.eventually(10) { (a.counterValues.unsent ?? 0) >= 2 })
        let b = try await Self.start(intakeB)
        b.join([a.me.address])
        #expect(try await Self.eventually { a.members.contains { $0.id == b.me.id && $0.status == .alive } })
        a.spread(notice: Array("bundlecast=1 kind=release app=one".utf8))
        b.spread(notice: Array("bundlecast=1 kind=release app=two".utf8))
        #expect(try await Self.eventually { intakeB.heard.withLock { $0.contains(Array("bundlecast=1 kind=release app=one".utf8)) } })
        #expect(try await Self.eventually { intakeA.heard.withLock { $0.contains(Array("bundlecast=1 kind=release app=two".utf8)) } })
        await b.shutdown()
        await a.shutdown()
    }

    /// A join that found no seed is tried again while no member is live: a node started
    /// before its seed, or one whose members were all declared gone, finds the fleet again.
    @Test(.timeLimit(.minutes(1))) func aJoinThatFoundNoSeedIsTriedAgain() async throws {
        let seed = try await Self.start(Intake(outcome: .known))
        // The seed is out of reach when b joins (its join goes nowhere), then reachable.
        let cut = Partition()
        cut.set(addresses: [seed.me.address], ids: [])
        var settings = GossipRuntime.Settings()
        settings.pushPullInterval = 200_000_000
        settings.partition = cut
        let b = try await GossipRuntime.start(id: NodeIdentity(seed: Sodium.randomBytes(32)).id, settings: settings, metadata: [],
                                              fleetKey: nil, logger: Logger(label: "test"))
        b.join([seed.me.address])
        try await Task.sleep(for: .milliseconds(500))
        #expect(b.members.isEmpty)
        cut.set(addresses: [], ids: [])
        #expect(try await Self.eventually { b.members.contains { $0.id == seed.me.id && $0.status == .alive } })
        await b.shutdown()
        await seed.shutdown()
    }

    /// Push-pull connections from one address off loopback are at most
    /// ``GossipRuntime/maxPushPullsPerSource``: one host opening connections and sending
    /// nothing cannot hold all eight and shut out every join and anti-entropy exchange.
    @Test(.timeLimit(.minutes(1))) func oneHostHoldsAtMostTwoPushPullConnections() async throws {
        let runtime = try await Self.start(Intake(outcome: .known))
        func connect(from ip: String) throws -> EmbeddedChannel {
            let channel = EmbeddedChannel()
            channel.remoteAddress = try SocketAddress(ipAddress: ip, port: 40000)
            try channel.connect(to: try SocketAddress(ipAddress: ip, port: 40000)).wait()
            try runtime.setUpPushPull(channel)
            return channel
        }
        let first = try (0..<3).map { _ in try connect(from: "203.0.113.9") }
        #expect(first.map(\.isActive) == [true, true, false])
        // Another host still gets in, and a closed connection gives its place back.
        #expect(try connect(from: "198.51.100.4").isActive)
        try? await first[0].close().get()
        first[0].embeddedEventLoop.run()
        #expect(try connect(from: "203.0.113.9").isActive)
        await runtime.shutdown()
    }
}
