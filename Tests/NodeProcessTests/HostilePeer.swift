import BundlecastCore
import Foundation
import Gossip
import TransferWire

/// A peer that speaks the transfer and gossip protocols like a node and misbehaves: it
/// floods requests it never reads, says hello twice, claims ids, sends frames that lie
/// about their length. Everything runs on blocking sockets with time-outs, so a node that
/// stops reading makes it stop too, never hang.
struct HostilePeer {
    let id: NodeID

    init(id: NodeID = NodeID(high: 0xBAD0_BAD0, low: UInt64.random(in: 1...UInt64.max))) { self.id = id }

    static func framed(_ frame: TransferFrame) -> [UInt8] { framed(frame.encoded()) }
    static func framed(_ bytes: [UInt8]) -> [UInt8] { withUnsafeBytes(of: UInt32(bytes.count).bigEndian, Array.init) + bytes }

    var hello: [UInt8] { Self.framed(.hello(version: TransferFrame.protocolVersion, node: id)) }

    /// Opens `connections` transfer connections, says hello on each, then asks for `chunks`
    /// over and over for `seconds` without reading a byte of the answers (a tiny receive
    /// buffer, so the node's replies back up at once). Returns the requests the node took
    /// in before it stopped reading.
    func floodWithoutReading(port: Int, chunks: [Digest256], connections: Int, seconds: Double) -> Int {
        let sockets = (0..<connections).compactMap { _ in RawConnection(port: port, timeout: 1, receiveBuffer: 4096, sendTimeout: 1) }
        for s in sockets { s.send(hello) }
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
}
