import ArgumentParser
import BundlecastCore
import Foundation
import Publisher

struct Verify: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Check a release's signature, or that a directory matches it exactly.",
        discussion: """
            With a manifest: checks MANIFEST.minisig (or --signature) against the public key, \
            that the notice names this very manifest, and prints the notice.
            With --manifest and a directory: does that, then compares the directory with the \
            manifest and lists every missing, extra or changed file.

            With a rotation statement (MANIFESTS/APP/rotations/EPOCH.rotation) and the old key: \
            checks the old key's signature and the new key's co-signature, and prints the statement.

            Exit codes: 0 verified; 1 verification failed or the directory differs; \
            2 a file is missing or malformed; 3 the signature is valid but the notice has expired.

            Examples:
              bundlecast verify --pub Keys/acme.pub Manifests/acme/1.4.0.manifest
              bundlecast verify --pub Keys/acme.pub --manifest Manifests/acme/1.4.0.manifest /opt/acme
              bundlecast verify --pub Keys/acme.pub Manifests/acme/rotations/1.rotation
            """
    )

    @Option(help: ArgumentHelp("The publisher's public key (minisign format).", valueName: "file"))
    var pub: String

    @Option(help: ArgumentHelp("Compare DIR with this manifest.", valueName: "file"))
    var manifest: String?

    @Option(help: ArgumentHelp("The notice; default: the manifest's path + .minisig.", valueName: "file"))
    var signature: String?

    @Argument(help: ArgumentHelp("A manifest, or with --manifest a directory.", valueName: "path"))
    var path: String

    func run() throws {
        try reporting {
            let key = try loadPublicKey(pub)
            if manifest == nil, path.hasSuffix(".rotation") { return try verifyRotation(key) }
            let manifestPath = manifest ?? path
            let (m, signed) = try loadVerified(manifest: manifestPath, signature: signature, key: key)
            let n = signed.notice
            if manifest == nil {
                print("verified \(manifestPath): \(n.app) \(n.version), signed by key \(key.keyID)")
                print("  kind \(n.kind.rawValue), sequence \(n.sequence), channel \(n.channel), rollout \(n.rollout)%")
                print("  \(m.entries.count) entries, \(Format.bytes(n.size)), manifest \(n.manifest.hex)")
                print("  created \(Format.date(n.created)), expires \(Format.date(n.expires))")
                print("  trusted comment: \(signed.signature.trustedComment)")
            } else {
                let differences = try DirectoryVerifier.compare(m, with: path)
                for difference in differences { print(difference) }
                guard differences.isEmpty else {
                    throw Failure("\(path) does not match \(n.app) \(n.version): \(differences.count) difference(s)", code: Exit.verificationFailed)
                }
                print("verified \(path): matches \(n.app) \(n.version) exactly (\(m.entries.count) entries, \(Format.bytes(m.totalSize)))")
            }
            let now = UInt64(Date().timeIntervalSince1970)
            if n.isExpired(at: now) {
                throw Failure("the notice expired at \(Format.date(n.expires)): nodes no longer accept it as news; publish a fresh one", code: Exit.expired)
            }
        }
    }

    private func verifyRotation(_ key: PublicKey) throws {
        let rotation: SignedRotation
        do { rotation = try SignedRotation(bytes: try PosixFile.readAll(path, limit: SignedRotation.maxBytes + 1)) } catch let error as RotationFormatError {
            throw Failure("\(path): \(error)")
        }
        let s = rotation.statement
        guard key.keyID == s.oldKeyID else {
            throw Failure("\(path) hands over from key \(s.oldKeyID), not \(key.keyID) from \(pub): give the old key", code: Exit.verificationFailed)
        }
        guard rotation.isSignedByOldKey(key) else { throw Failure("\(path): the old key's signature does not verify", code: Exit.verificationFailed) }
        guard rotation.isSignedByNewKey else { throw Failure("\(path): the new key's co-signature does not verify", code: Exit.verificationFailed) }
        print("verified \(path): \(s.app) rotates from key \(s.oldKeyID) to \(s.newKeyID) at epoch \(s.epoch)")
        print("  new public key: \(s.newKey.base64)")
        print("  created \(Format.date(s.created))")
    }
}
