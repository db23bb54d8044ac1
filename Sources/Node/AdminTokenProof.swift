import BundlecastCore

/// How a node shows a command that it holds the admin token before the command sends it.
///
/// The commands send `$BUNDLECAST_ADMIN_TOKEN` to whatever answers on the admin port, and
/// while the node is down any local user can bind that port (above 1024) and read it from
/// the next `bundlecast status`. So a command first sends a fresh random nonce to
/// `GET /v1/auth/proof?nonce=HEX` (no token needed) and sends the token only when the answer
/// is BLAKE2b-256 of the token's digest, a fixed label and the nonce: only a program that
/// holds the token can answer, and the answer tells nothing of it (BLAKE2b keyed by its
/// prefix is a MAC; a nonce is never reused). A node without a token answers 404, and the
/// command then sends none: the node needs none, and a squatter learns nothing.
enum AdminTokenProof {
    static let path = "/v1/auth/proof"
    static let nonceBytes = 32

    static func proof(token: String, nonce: [UInt8]) -> [UInt8] {
        let key = Blake2b.digest256(Array(token.utf8)).bytes
        return Blake2b.digest256(key + Array("bundlecast admin token proof\n".utf8) + nonce).bytes
    }

    /// The nonce of a proof request's query, if it is `nonceBytes` bytes in hex.
    static func nonce(_ text: String?) -> [UInt8]? {
        guard let text, text.utf8.count == 2 * nonceBytes, let bytes = Hex.decode(text), bytes.count == nonceBytes else { return nil }
        return bytes
    }
}
