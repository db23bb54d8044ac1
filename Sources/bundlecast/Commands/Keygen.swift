import ArgumentParser
import BundlecastCore
import Publisher
#if canImport(Glibc)
import Glibc
#endif

struct Keygen: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Make an Ed25519 key pair for signing releases (minisign formats).",
        discussion: """
            Writes OUT.pub (share it: nodes pin it) and OUT.key (keep it secret, mode 0600, \
            back it up). The secret key is encrypted with scrypt like minisign's, unless \
            --unencrypted. An existing key is never overwritten. Both files work with \
            minisign itself.

            Examples:
              bundlecast keygen --out Keys/acme                       # asks for a passphrase
              bundlecast keygen --out Keys/acme --passphrase-file pw.txt
              bundlecast keygen --out Keys/ci --unencrypted
            """
    )

    @Option(name: .long, help: ArgumentHelp("Path without extension: writes OUT.pub and OUT.key.", valueName: "path"))
    var out: String

    @Option(name: .long, help: ArgumentHelp("Read the passphrase from the first line of this file (else $BUNDLECAST_PASSPHRASE, else a prompt).", valueName: "file"))
    var passphraseFile: String?

    @Flag(name: .long, help: "Store the secret key without encryption (for tests and CI signers with other protection).")
    var unencrypted = false

    func validate() throws {
        if unencrypted && passphraseFile != nil {
            throw ValidationError("--unencrypted and --passphrase-file exclude each other")
        }
    }

    func run() throws {
        try reporting {
            let pubPath = out + ".pub"
            let keyPath = out + ".key"
            for path in [pubPath, keyPath] where access(path, F_OK) == 0 {
                throw Failure("\(path) already exists; keygen never overwrites a key (choose another --out)")
            }
            var passphrase: [UInt8]?
            if !unencrypted {
                passphrase = try PassphraseSource(file: passphraseFile).read(confirm: true)
                guard passphrase != nil else {
                    throw Failure("no passphrase: give --passphrase-file FILE or BUNDLECAST_PASSPHRASE, or --unencrypted")
                }
            }
            let key = SecretKey.generate()
            if let slash = out.lastIndex(of: "/") { try AtomicWrite.makeDirectories(String(out[..<slash])) }
            let secretText = try key.fileText(passphrase: passphrase)
            try AtomicWrite.createNew(keyPath, bytes: Array(secretText.utf8), mode: 0o600)
            do {
                try AtomicWrite.createNew(pubPath, bytes: Array(key.publicKey.fileText.utf8))
            } catch {
                unlink(keyPath)
                throw error
            }
            print("wrote \(pubPath) and \(keyPath) (key id \(key.keyID), \(unencrypted ? "unencrypted" : "encrypted")); keep \(keyPath) secret and backed up")
        }
    }
}
