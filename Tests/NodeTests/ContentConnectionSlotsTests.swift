import NIOCore
@testable import Node
import Testing

/// The content server's connection caps (``ContentServer/maxPerAddress`` over
/// ``ConnectionSlots``): a remote host without the token cannot take every connection.
@Suite struct ContentConnectionSlotsTests {
    @Test func oneRemoteHostGetsItsShareAndLoopbackStillGetsIn() throws {
        let slots = ConnectionSlots(total: 1024, perAddress: ContentServer.maxPerAddress)
        let remote = try SocketAddress(ipAddress: "203.0.113.9", port: 40000)
        let taken = (0..<2048).map { _ in slots.take(from: remote) }.compactMap { $0 }.count
        #expect(taken == ContentServer.maxPerAddress)
        // Remote hosts together fill their part, and the machine's own apps still get in.
        var hosts = 0
        while hosts < 1024, slots.take(from: try SocketAddress(ipAddress: "198.51.100.\(hosts % 250 + 1)", port: 1)) != nil { hosts += 1 }
        #expect(slots.take(from: try SocketAddress(ipAddress: "192.0.2.1", port: 1)) == nil)
        let local = try SocketAddress(ipAddress: "127.0.0.1", port: 40001)
        #expect(slots.take(from: local) != nil)
    }
}
