/// Why a `.minisig` was refused.
public struct SignatureError: Error, Equatable, CustomStringConvertible {
    public enum Reason: Equatable, Sendable {
        /// The file is not a minisign signature in its one canonical layout.
        case malformed(String)
        /// A legacy, non-prehashed ("Ed") signature: Bundlecast accepts "ED" only.
        case legacyAlgorithm
        /// Signed by another key than the one given.
        case keyMismatch(signedBy: KeyID, expected: KeyID)
        /// The signature over the file does not verify.
        case badSignature
        /// The global signature over the trusted comment does not verify.
        case badCommentSignature
    }

    public let reason: Reason

    public init(_ reason: Reason) { self.reason = reason }

    public var description: String {
        switch reason {
        case .malformed(let why): return "malformed signature file: \(why)"
        case .legacyAlgorithm: return "legacy (non-prehashed) minisign signature: re-sign with a current minisign or bundlecast"
        case .keyMismatch(let signedBy, let expected):
            return "signed by key \(signedBy), but the trusted key is \(expected)"
        case .badSignature: return "signature verification failed: the file was changed or was not signed by this key"
        case .badCommentSignature: return "trusted comment signature verification failed: the notice was tampered with"
        }
    }
}
