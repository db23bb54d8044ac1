import NIOCore
import NIOEmbedded
import NIOHTTPTypes
@testable import Node
import Testing

/// The admin API's connection caps: in all, and per address off loopback.
@Suite struct AdminConnectionCapTests {
    static func address(_ ip: String) throws -> SocketAddress { try SocketAddress(ipAddress: ip, port: 40000) }

    /// A connection from `ip` through the cap, active; whether the cap closed it.
    static func connect(_ slots: ConnectionSlots, from ip: String) throws -> (EmbeddedChannel, closed: Bool) {
        let channel = EmbeddedChannel()
        try channel.pipeline.syncOperations.addHandler(AdminConnectionCap(slots: slots))
        channel.remoteAddress = try address(ip)
        try channel.connect(to: address(ip)).wait()
        channel.embeddedEventLoop.run()
        return (channel, !channel.isActive)
    }

    /// A connection from each of `ips`, every one expected to get in.
    static func admitted(_ slots: ConnectionSlots, from ips: [String]) throws -> [EmbeddedChannel] {
        try ips.map { ip in
            let (channel, closed) = try connect(slots, from: ip)
            #expect(!closed, "a connection from \(ip) under the caps gets in")
            return channel
        }
    }

    /// Keeps the connection open when the cap closes it, so that what the cap passes on
    /// afterwards can be seen (on a socket, bytes already read may still arrive).
    final class HoldOpen: ChannelOutboundHandler {
        typealias OutboundIn = Never
        var closeAsked = false
        func close(context: ChannelHandlerContext, mode: CloseMode, promise: EventLoopPromise<Void>?) {
            closeAsked = true
            promise?.succeed(())
        }
    }

    @Test func oneRemoteAddressGetsAtMostItsShareAndOthersStillGetIn() throws {
        let slots = ConnectionSlots(total: 10, perAddress: 3)
        var held = try Self.admitted(slots, from: Array(repeating: "192.0.2.7", count: 3))
        let (_, fourthClosed) = try Self.connect(slots, from: "192.0.2.7")
        #expect(fourthClosed, "a fourth connection from one address is closed")
        // The same host over IPv4-mapped IPv6 is the same address.
        let (_, mappedClosed) = try Self.connect(slots, from: "::ffff:192.0.2.7")
        #expect(mappedClosed)
        let (other, otherClosed) = try Self.connect(slots, from: "192.0.2.8")
        #expect(!otherClosed, "another address still gets in")
        #expect(slots.open == 4)
        // A connection that ends gives its slot back.
        _ = try held.removeFirst().finish()
        #expect(slots.open == 3)
        let (_, againClosed) = try Self.connect(slots, from: "192.0.2.7")
        #expect(!againClosed)
        _ = other
    }

    @Test func loopbackIsBoundedOnlyByTheTotal() throws {
        let slots = ConnectionSlots(total: 5, perAddress: 2)
        let held = try Self.admitted(slots, from: ["127.0.0.1", "127.0.0.1", "127.0.0.1", "::1", "127.1.2.3"])
        let (_, closed) = try Self.connect(slots, from: "127.0.0.1")
        #expect(closed, "the sixth connection is over the total")
        let (_, remoteClosed) = try Self.connect(slots, from: "198.51.100.1")
        #expect(remoteClosed, "the total counts every address")
        #expect(slots.open == 5)
        for channel in held { _ = try channel.finish() }
        #expect(slots.open == 0)
    }

    @Test func remoteHostsLeaveAnEighthOfTheTotalToLoopback() throws {
        let slots = ConnectionSlots(total: 16, perAddress: 64)
        #expect(slots.remoteTotal == 14)
        var held = try Self.admitted(slots, from: (1...14).map { "198.51.100.\($0)" })
        let (_, remoteClosed) = try Self.connect(slots, from: "198.51.100.200")
        #expect(remoteClosed, "remote hosts get no more than their part")
        let (_, v6Closed) = try Self.connect(slots, from: "2001:db8::7")
        #expect(v6Closed)
        held += try Self.admitted(slots, from: ["127.0.0.1", "127.0.0.1"])  // loopback still gets in
        let (_, overClosed) = try Self.connect(slots, from: "127.0.0.1")
        #expect(overClosed, "and the total still holds")
        #expect(slots.open == 16)
        for channel in held { _ = try channel.finish() }
        #expect(slots.open == 0)
        let (_, afterClosed) = try Self.connect(slots, from: "198.51.100.200")
        #expect(!afterClosed, "slots given back are remote hosts' again")
    }

    @Test func aRefusedConnectionPassesNothingOnAndHoldsNoSlot() throws {
        let slots = ConnectionSlots(total: 1, perAddress: 1)
        let (first, _) = try Self.connect(slots, from: "203.0.113.9")
        let refused = EmbeddedChannel()
        let hold = HoldOpen()
        try refused.pipeline.syncOperations.addHandler(hold)
        try refused.pipeline.syncOperations.addHandler(AdminConnectionCap(slots: slots))
        refused.remoteAddress = try Self.address("203.0.113.10")
        try refused.connect(to: Self.address("203.0.113.10")).wait()
        #expect(hold.closeAsked, "the cap closes a connection over the total")
        let head = HTTPRequestPart.head(.init(method: .get, scheme: nil, authority: "x", path: "/v1/status"))
        try refused.writeInbound(head)
        #expect(try refused.readInbound(as: HTTPRequestPart.self) == nil, "nothing read on a refused connection reaches the API")
        #expect(slots.open == 1)
        try first.writeInbound(head)
        #expect(try first.readInbound(as: HTTPRequestPart.self) != nil, "an admitted connection's parts pass through")
        _ = try first.finish()
        #expect(slots.open == 0)
    }

    @Test func aClientIsCountedByItsHostAndLoopbackIsKnown() throws {
        func key(_ ip: String) throws -> ClientAddressKey? { ClientAddressKey(try SocketAddress(ipAddress: ip, port: 7)) }
        #expect(try key("127.0.0.1") == ClientAddressKey(text: "127.0.0.1", isLoopback: true))
        #expect(try key("127.9.8.7")?.isLoopback == true)
        #expect(try key("::1")?.isLoopback == true)
        #expect(try key("::ffff:127.0.0.1") == ClientAddressKey(text: "127.0.0.1", isLoopback: true))
        #expect(try key("::ffff:192.0.2.1") == ClientAddressKey(text: "192.0.2.1", isLoopback: false))
        #expect(try key("10.0.0.1") == ClientAddressKey(text: "10.0.0.1", isLoopback: false))
        #expect(try key("2001:db8:1:2:3:4:5:6") == ClientAddressKey(text: "2001:db8:1:2::/64", isLoopback: false))
        #expect(try key("::2")?.isLoopback == false)
        #expect(ClientAddressKey(try SocketAddress(unixDomainSocketPath: "/tmp/x.sock")) == nil)
    }

    /// Records the lifecycle events that reach it.
    final class EventOrder: ChannelInboundHandler {
        typealias InboundIn = HTTPRequestPart
        var events: [String] = []
        func channelActive(context: ChannelHandlerContext) { events.append("active") }
        func channelInactive(context: ChannelHandlerContext) { events.append("inactive") }
    }

    @Test func theHandlersAfterTheCapSeeARefusedConnectionStartBeforeItEnds() throws {
        let slots = ConnectionSlots(total: 1, perAddress: 1)
        let (first, _) = try Self.connect(slots, from: "203.0.113.9")
        let refused = EmbeddedChannel()
        let order = EventOrder()
        try refused.pipeline.syncOperations.addHandler(AdminConnectionCap(slots: slots))
        try refused.pipeline.syncOperations.addHandler(order)
        refused.remoteAddress = try Self.address("203.0.113.10")
        try refused.connect(to: Self.address("203.0.113.10")).wait()
        #expect(!refused.isActive, "refused")
        #expect(order.events == ["active", "inactive"])
        _ = try first.finish()
    }

    @Test func theKeyIsTheIPWithoutThePort() throws {
        #expect(ConnectionSlots.key(of: try SocketAddress(ipAddress: "10.1.2.3", port: 1)) == "10.1.2.3")
        #expect(ConnectionSlots.key(of: try SocketAddress(ipAddress: "10.1.2.3", port: 2)) == "10.1.2.3")
        #expect(ConnectionSlots.key(of: try SocketAddress(ipAddress: "127.0.0.1", port: 1)) == nil)
        #expect(ConnectionSlots.key(of: try SocketAddress(ipAddress: "::1", port: 1)) == nil)
        #expect(ConnectionSlots.key(of: try SocketAddress(ipAddress: "::ffff:127.0.0.1", port: 1)) == nil)
        // An IPv6 host is counted by its /64: the addresses one host can pick from.
        #expect(ConnectionSlots.key(of: try SocketAddress(ipAddress: "2001:db8::1", port: 1)) == "2001:db8:0:0::/64")
        #expect(ConnectionSlots.key(of: try SocketAddress(ipAddress: "2001:db8:0:0:ffff:1:2:3", port: 1)) == "2001:db8:0:0::/64")
        #expect(ConnectionSlots.key(of: try SocketAddress(ipAddress: "2001:db8:0:1::1", port: 1)) == "2001:db8:0:1::/64")
        #expect(ConnectionSlots.key(of: try SocketAddress(ipAddress: "::ffff:10.1.2.3", port: 1)) == "10.1.2.3")
    }
}
