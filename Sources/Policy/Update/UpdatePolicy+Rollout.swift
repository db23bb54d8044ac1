import BundlecastCore
import Gossip

/// Who is in a staged rollout.
extension UpdatePolicy {
    /// Whether `node` is in a rollout of `percent`: a stable bucket in 0..99 from the node id and the
    /// manifest, so ramping 10% → 50% keeps the first 10% in.
    public static func inRollout(node: NodeID, manifest: Digest256, percent: UInt8) -> Bool {
        bucket(node: node, manifest: manifest) < Int(percent)
    }

    /// The node's bucket for this manifest, 0..99: the first 8 bytes (little-endian) of the
    /// BLAKE2b-256 of the node id (big-endian halves) and the manifest digest, modulo 100.
    /// A new manifest reshuffles the buckets, so the same nodes are not always first.
    public static func bucket(node: NodeID, manifest: Digest256) -> Int {
        var bytes: [UInt8] = []
        withUnsafeBytes(of: node.high.bigEndian) { bytes += $0 }
        withUnsafeBytes(of: node.low.bigEndian) { bytes += $0 }
        bytes += manifest.bytes
        let d = Blake2b.digest256(bytes).bytes
        let value = d.prefix(8).enumerated().reduce(UInt64(0)) { $0 | UInt64($1.element) << (8 * UInt64($1.offset)) }
        return Int(value % 100)
    }
}
