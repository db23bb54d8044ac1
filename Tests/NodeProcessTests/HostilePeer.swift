import BundlecastCore
import Foundation
import Gossip
import TestSupport
import TransferWire

/// A peer that speaks the transfer and gossip protocols like a node and misbehaves: it
/// floods requests it never reads, says hello twice, claims ids, sends frames that lie
/// about their length. Everything runs on blocking sockets with time-outs, so a node that
/// stops reading makes it stop too, never hang.
struct HostilePeer {
    let identity = NodeIdentity(seed: Sodium.randomBytes(32))
    var id: NodeID { identity.id }

    static func framed(_ frame: TransferFrame) -> [UInt8] { framed(frame.encoded()) }
    static func framed(_ bytes: [UInt8]) -> [UInt8] { withUnsafeBytes(of: UInt32(bytes.count).bigEndian, Array.init) + bytes }

    /// A hello frame (type byte and payload) for this peer, or for a claimed `id` with its key.
    func helloFrame(claiming claimed: NodeID? = nil, nonce: [UInt8] = Sodium.randomBytes(32)) -> [UInt8] {
        TransferFrame.hello(version: TransferFrame.protocolVersion, node: claimed ?? id, key: identity.publicKey, nonce: nonce).encoded()
    }

    /// Reads the node's hello on `connection`: its id, key and nonce.
    static func readHello(_ connection: RawConnection) -> (id: NodeID, key: [UInt8], nonce: [UInt8])? {
        guard let bytes = connection.readExactly(4 + TransferFrame.helloLength),
              case .hello(_, let id, let key, let nonce) = try? TransferFrame(decoding: Array(bytes.dropFirst(4))) else { return nil }
        return (id, key, nonce)
    }

    /// Says hello and proves this peer's id, as an honest node does; false if the node sent no hello.
    func handshake(_ connection: RawConnection) -> Bool {
        guard let node = Self.readHello(connection) else { return false }
        let nonce = Sodium.randomBytes(32)
        let proof = identity.proof(ownNonce: nonce, peerNonce: node.nonce, peer: node.id)
        connection.send(Self.framed(helloFrame(nonce: nonce)) + Self.framed(.proof(proof)))
        return true
    }

    /// Opens `connections` transfer connections, says hello on each, then asks for `chunks`
    /// over and over for `seconds` without reading a byte of the answers (a tiny receive
    /// buffer, so the node's replies back up at once). Returns the requests the node took
    /// in before it stopped reading.
    func floodWithoutReading(port: Int, chunks: [Digest256], connections: Int, seconds: Double) -> Int {
        let sockets = (0..<connections).compactMap { _ in RawConnection(port: port, timeout: 1, receiveBuffer: 4096, sendTimeout: 1) }
            .filter { handshake($0) }
        let batch = chunks.flatMap { Self.framed(.request($0)) }
        var sent = 0
        let deadline = Date().addingTimeInterval(seconds)
        var open = sockets
        while Date() < deadline && !open.isEmpty {
            open = open.filter { s in
                let n = s.sendSome(batch)
                sent += n / 37
                return n == batch.count
            }
        }
        return sent
    }

    /// Asks what the node holds of `manifest` over and over for `seconds`, reading (and
    /// dropping) the answers, so the node's writes never push back. Returns the queries sent.
    func floodHaveQueries(port: Int, manifest: Digest256, seconds: Double) -> Int {
        guard let s = RawConnection(port: port, timeout: 1, sendTimeout: 1), handshake(s) else { return 0 }
        let batch = [UInt8]((0..<1000).map { _ in Self.framed(.haveQuery(manifest)) }.joined())
        var sent = 0
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            let n = s.sendSome(batch)
            sent += n / 37
            s.drain()
            if n < batch.count { break }
        }
        return sent
    }
}
