/// A notice with the minisign signature that carries it: the unit that is
/// stored, served by the origin and gossiped.
public struct SignedNotice: Hashable, Sendable {
    public let signature: MinisignSignature
    public let notice: Notice

    /// Parses a `.minisig` whose trusted comment is a notice. Nothing is
    /// verified yet: call ``verify(with:)`` or ``verify(manifest:with:)``.
    public init(bytes: [UInt8]) throws {
        signature = try MinisignSignature(bytes: bytes)
        notice = try Notice(trustedComment: signature.trustedComment)
    }

    /// Signs `notice` over the manifest bytes.
    public init(notice: Notice, manifestBytes: [UInt8], key: SecretKey) throws {
        signature = try MinisignSignature.sign(
            manifestBytes, trustedComment: notice.description, untrustedComment: Self.untrustedComment(notice), with: key)
        self.notice = notice
    }

    private init(signature: MinisignSignature, notice: Notice) {
        self.signature = signature
        self.notice = notice
    }

    static func untrustedComment(_ notice: Notice) -> String {
        "bundlecast notice \(notice.app) \(notice.version) #\(notice.sequence) (see trusted comment)"
    }

    /// The same signed notice with the untrusted comment `release` writes. That comment is
    /// not signed, so anyone who relays a notice may change it: whoever stores, compares
    /// or serves notices by their bytes (the origin) takes this form, and one signed
    /// notice has one byte form there.
    public var canonical: SignedNotice {
        var signature = signature
        signature.untrustedComment = Self.untrustedComment(notice)
        return SignedNotice(signature: signature, notice: notice)
    }

    public var bytes: [UInt8] { signature.bytes }

    /// Authenticates the notice alone (without its manifest).
    public func verify(with key: PublicKey) throws(SignatureError) {
        try signature.verifyTrustedComment(with: key)
    }

    /// Authenticates the notice and checks that `manifestBytes` is the
    /// manifest it names: signed, same digest, same app, version and size.
    /// Returns the parsed manifest.
    @discardableResult
    public func verify(manifest manifestBytes: [UInt8], with key: PublicKey) throws -> Manifest {
        try signature.verify(manifestBytes, with: key)
        let digest = Blake2b.digest256(manifestBytes)
        guard digest == notice.manifest else {
            throw NoticeError("names manifest \(notice.manifest.short), but the manifest's digest is \(digest.short)")
        }
        let manifest = try ManifestCoder.decode(manifestBytes)
        guard manifest.app == notice.app, manifest.version == notice.version else {
            throw NoticeError("is for \(notice.app) \(notice.version), but the manifest is \(manifest.app) \(manifest.version)")
        }
        guard manifest.totalSize == notice.size else {
            throw NoticeError("says size \(notice.size), but the manifest's files total \(manifest.totalSize)")
        }
        return manifest
    }
}
