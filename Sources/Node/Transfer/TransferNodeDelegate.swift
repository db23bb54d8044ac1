import BundlecastCore
import Gossip
import TransferWire

/// What the transfer shell hands on: the answers to this node's own requests, peers' news,
/// lost links and new bans. Given to ``TransferNode`` at construction (the downloads are built
/// after it, so the delegate is the part of them that needs no node: ``DownloadRouter``).
///
/// Called on the event loop that read the frame, or on the shell's I/O queue: keep each call
/// short and never block.
protocol TransferNodeDelegate: AnyObject, Sendable {
    /// A have-set, chunk, `missing`, have-query, or a manifest we asked for that hashes to its digest.
    func transfer(received frame: TransferFrame, from peer: NodeID)
    /// A peer's `has` frames of one read: chunks it now holds.
    func transfer(peer: NodeID, nowHolds chunks: [Digest256])
    /// The connection our requests to `peer` went over closed.
    func transfer(lostLinkTo peer: NodeID)
    /// These peers were banned just now (bans restored at start are not repeated), oldest
    /// first: written to `node.sqlite` together.
    func transfer(banned: [(peer: NodeID, reason: String)])
}
