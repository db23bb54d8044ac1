/// A key file that cannot be used, and why.
public struct KeyFileError: Error, Equatable, CustomStringConvertible {
    public enum Reason: Equatable, Sendable {
        case notMinisignFormat(String)
        case unsupportedAlgorithm(String)
        case wrongPassphrase
        case passphraseRequired
        case corrupt(String)
        /// scrypt limits above libsodium's "sensitive" ones, which no minisign key uses.
        case kdfLimitsTooHigh(opslimit: UInt64, memlimit: UInt64)
    }

    public let reason: Reason

    public init(_ reason: Reason) { self.reason = reason }

    public var description: String {
        switch reason {
        case .notMinisignFormat(let what): return "not a minisign key file: \(what)"
        case .unsupportedAlgorithm(let what): return "unsupported key: \(what)"
        case .wrongPassphrase: return "wrong passphrase for this secret key"
        case .passphraseRequired:
            return "the secret key is encrypted: give its passphrase with --passphrase-file FILE or BUNDLECAST_PASSPHRASE"
        case .corrupt(let what): return "corrupt secret key: \(what)"
        case .kdfLimitsTooHigh(let ops, let mem):
            return "the secret key asks scrypt for opslimit \(ops) and memlimit \(mem) bytes, above libsodium's sensitive limits "
                + "(\(SecretKey.maxOpslimit), \(SecretKey.maxMemlimit)) that minisign writes: refused rather than run"
        }
    }
}
