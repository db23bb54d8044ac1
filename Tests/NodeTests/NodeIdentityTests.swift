import BundlecastCore
import Gossip
import Testing
import TransferWire
import Foundation
@testable import Node
import TestSupport

/// Node ids come from keys, and a proof holds for one connection's nonces only.
@Suite struct NodeIdentityTests {
    let a = NodeIdentity(seed: [UInt8](repeating: 1, count: 32))
    let b = NodeIdentity(seed: [UInt8](repeating: 2, count: 32))
    let nonceA = [UInt8](repeating: 0xA, count: 32)
    let nonceB = [UInt8](repeating: 0xB, count: 32)

    @Test func theIdIsDerivedFromThePublicKey() {
        #expect(a.id == NodeIdentity.id(of: a.publicKey))
        #expect(a.id != b.id)
        #expect(NodeIdentity(seed: [UInt8](repeating: 1, count: 32)).id == a.id, "the same seed gives the same id")
    }

    @Test func aProofVerifiesForItsConnectionOnly() {
        let proof = a.proof(ownNonce: nonceA, peerNonce: nonceB, peer: b.id)
        #expect(NodeIdentity.verify(proof, peerKey: a.publicKey, peer: a.id, peerNonce: nonceA, ownNonce: nonceB, own: b.id))
        // Another connection (another nonce of the verifier): a replayed proof fails.
        #expect(!NodeIdentity.verify(proof, peerKey: a.publicKey, peer: a.id, peerNonce: nonceA, ownNonce: Sodium.randomBytes(32), own: b.id))
        // Turned around (the nonces swapped), or shown to a third node: fails.
        #expect(!NodeIdentity.verify(proof, peerKey: a.publicKey, peer: a.id, peerNonce: nonceB, ownNonce: nonceA, own: b.id))
        let c = NodeIdentity(seed: [UInt8](repeating: 3, count: 32))
        #expect(!NodeIdentity.verify(proof, peerKey: a.publicKey, peer: a.id, peerNonce: nonceA, ownNonce: nonceB, own: c.id))
        // Claiming a's id with b's key, or b's id with a's key: fails before any signature check.
        #expect(!NodeIdentity.verify(proof, peerKey: b.publicKey, peer: a.id, peerNonce: nonceA, ownNonce: nonceB, own: b.id))
        #expect(!NodeIdentity.verify(proof, peerKey: a.publicKey, peer: b.id, peerNonce: nonceA, ownNonce: nonceB, own: b.id))
    }

    @Test func theIdentityIsKeptPrivatelyAndSurvivesARestart() throws {
        try withTemporaryDirectory { (dir: String) throws -> Void in
            let path = dir + "/node.sqlite"
            let first = try NodeStore(path: path).identity()
            #expect(try NodeStore(path: path).identity().publicKey == first.publicKey)
            var st = stat()
            #expect(stat(path, &st) == 0 && st.st_mode & 0o077 == 0, "node.sqlite is readable by others")
        }
    }
}
