import BundlecastCore
import Gossip

/// A node's own Ed25519 key pair, kept in its data directory; its ``NodeID`` is derived
/// from the public key, as libp2p derives peer ids. Whoever claims an id on a transfer
/// connection proves it by signing the other side's fresh nonce (``proof(ownNonce:peerNonce:peer:)``),
/// so bans, links and have-sets attach to ids that cannot be borrowed.
public struct NodeIdentity: Sendable {
    private let key: SecretKey
    public let id: NodeID
    /// The 32 bytes of the Ed25519 public key.
    public let publicKey: [UInt8]

    /// From the 32-byte seed kept in the node's database.
    public init(seed: [UInt8]) {
        precondition(seed.count == 32, "an identity seed is 32 bytes")
        key = SecretKey.fromSeed(seed, keyID: KeyID(bytes: [UInt8](repeating: 0, count: 8))!)
        publicKey = key.publicKey.key
        id = Self.id(of: publicKey)
    }

    /// The id a public key stands for: the first 16 bytes of BLAKE2b-256 over a label and the key.
    public static func id(of publicKey: [UInt8]) -> NodeID {
        let d = Blake2b.digest256(Array("bundlecast node id 1".utf8) + publicKey).bytes
        func u64(_ at: Int) -> UInt64 { d[at..<at + 8].reduce(0) { $0 << 8 | UInt64($1) } }
        return NodeID(high: u64(0), low: u64(8))
    }

    /// What a side signs to prove its id on one connection: both fresh nonces (its own
    /// first, so a signature cannot be turned around) and both ids.
    public static func transcript(signerNonce: [UInt8], verifierNonce: [UInt8], signer: NodeID, verifier: NodeID) -> [UInt8] {
        var out = Array("bundlecast transfer proof 1".utf8)
        out += signerNonce + verifierNonce
        for v in [signer.high, signer.low, verifier.high, verifier.low] { withUnsafeBytes(of: v.bigEndian) { out += $0 } }
        return out
    }

    /// This node's proof for a connection whose peer said hello as `peer` with `peerNonce`.
    public func proof(ownNonce: [UInt8], peerNonce: [UInt8], peer: NodeID) -> [UInt8] {
        key.sign(Self.transcript(signerNonce: ownNonce, verifierNonce: peerNonce, signer: id, verifier: peer))
    }

    /// Whether `signature` proves that the holder of `peerKey` (id `peer`) signed this connection's nonces.
    public static func verify(_ signature: [UInt8], peerKey: [UInt8], peer: NodeID, peerNonce: [UInt8], ownNonce: [UInt8], own: NodeID) -> Bool {
        guard peerKey.count == 32, signature.count == 64, id(of: peerKey) == peer else { return false }
        let key = PublicKey(keyID: KeyID(bytes: [UInt8](repeating: 0, count: 8))!, key: peerKey)
        return key.isValidSignature(signature, of: transcript(signerNonce: peerNonce, verifierNonce: ownNonce, signer: peer, verifier: own))
    }
}
