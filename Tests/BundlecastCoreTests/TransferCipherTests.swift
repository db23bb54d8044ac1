import BundlecastCore
import Testing

@Suite struct TransferCipherTests {
    func pair(_ clientKey: FleetKey, _ serverKey: FleetKey) throws -> (client: (send: [UInt8], receive: [UInt8]), server: (send: [UInt8], receive: [UInt8])) {
        let c = TransferCipher.Handshake(isClient: true)
        let s = TransferCipher.Handshake(isClient: false)
        return (try c.keys(peerHello: s.hello, fleetKey: clientKey), try s.keys(peerHello: c.hello, fleetKey: serverKey))
    }

    func seal(_ sender: inout TransferCipher.Sender, _ text: [UInt8]) -> [UInt8] { text.withUnsafeBytes { sender.seal($0) } }

    @Test func bothSidesDeriveCrossedKeysAndMessagesRoundTripUnreadable() throws {
        let key = FleetKey.generate()
        let (client, server) = try pair(key, key)
        #expect(client.send == server.receive && client.receive == server.send && client.send != client.receive)
        var out = TransferCipher.Sender(key: client.send)
        var into = try TransferCipher.Receiver(key: server.receive, header: out.header)
        let secret = Array("a private bundle's bytes, which must not cross the network in clear".utf8)
        for _ in 0..<3 {
            let sealed = seal(&out, secret)
            #expect(sealed.count == secret.count + TransferCipher.overhead)
            #expect(!String(decoding: sealed, as: UTF8.self).contains("private"))
            #expect(try into.open(sealed) == secret)
        }
        #expect(try into.open(seal(&out, [])) == [], "an empty message is fine")
    }

    @Test func anotherFleetKeyATamperedOrAReorderedMessageDoesNotOpen() throws {
        let (client, server) = try pair(FleetKey.generate(), FleetKey.generate())
        var out = TransferCipher.Sender(key: client.send)
        var stranger = try TransferCipher.Receiver(key: server.receive, header: out.header)
        #expect(throws: TransferCipherError.self) { try stranger.open(seal(&out, [1, 2, 3])) }

        let key = FleetKey.generate()
        let (c, s) = try pair(key, key)
        var sender = TransferCipher.Sender(key: c.send)
        var receiver = try TransferCipher.Receiver(key: s.receive, header: sender.header)
        var tampered = seal(&sender, [1, 2, 3])
        tampered[1] ^= 0x01
        #expect(throws: TransferCipherError.self) { try receiver.open(tampered) }

        var sender2 = TransferCipher.Sender(key: c.send)
        var receiver2 = try TransferCipher.Receiver(key: s.receive, header: sender2.header)
        let first = seal(&sender2, [1]), second = seal(&sender2, [2])
        #expect(throws: TransferCipherError.self) { try receiver2.open(second) }
        _ = first
        #expect(throws: TransferCipherError.self) { try receiver2.open([1, 2]) }
    }

    @Test func aHelloThatIsNotOneIsRefused() {
        let h = TransferCipher.Handshake(isClient: true)
        let key = FleetKey.generate()
        #expect(throws: TransferCipherError.self) { try h.keys(peerHello: [], fleetKey: key) }
        #expect(throws: TransferCipherError.self) { try h.keys(peerHello: [UInt8](repeating: 0, count: 36), fleetKey: key) }
        // A plaintext transfer hello (length prefix, type 1...) is not a handshake.
        #expect(throws: TransferCipherError.self) { try h.keys(peerHello: [0, 0, 0, 18, 1, 1] + [UInt8](repeating: 7, count: 30), fleetKey: key) }
        // The all-zero public key is refused by crypto_kx.
        #expect(throws: TransferCipherError.self) { try h.keys(peerHello: TransferCipher.magic + [UInt8](repeating: 0, count: 32), fleetKey: key) }
    }
}
