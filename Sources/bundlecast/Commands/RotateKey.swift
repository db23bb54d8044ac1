import ArgumentParser
import BundlecastCore
import Node
import Origin
import Publisher

struct RotateKey: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rotate-key",
        abstract: "Replace an app's signing key: a statement signed by the old key and co-signed by the new one.",
        discussion: """
            Writes MANIFESTS/APP/rotations/EPOCH.rotation: the next epoch (one above the origin's \
            with --origin, else one above the last statement there, else 1), the old and new key \
            ids, the new public key and the floor (the highest sequence among the notices under \
            MANIFESTS/APP, or --floor), signed by --old and co-signed by --new. Origin and nodes \
            that accept it drop whatever the old key signed above the floor: a notice a thief \
            signed with a stolen key at any sequence stops counting, and the new key's next \
            release goes through. With --origin and \
            --node the statement is posted there; nodes spread it by gossip. From then on origin \
            and nodes accept only notices signed by the new key, and refuse the old key and any \
            older statement. Run it again after a failed post: it sends the statement it wrote.

            Then release with the new key as usual: the sequence continues (it is per app, not per key).

            Examples:
              bundlecast rotate-key --old Keys/acme.key --new Keys/acme-2027.key --app acme \\
                --origin http://127.0.0.1:7300 --node 127.0.0.1:7947
              bundlecast release ./build --app acme --version 1.5.0 --key Keys/acme-2027.key --origin http://127.0.0.1:7300
            """
    )

    @Option(help: ArgumentHelp("The secret key being retired (minisign format).", valueName: "file"))
    var old: String

    @Option(help: ArgumentHelp("The secret key taking over (e.g. made by `bundlecast keygen`).", valueName: "file"))
    var new: String

    @Option(help: "The app whose key changes.")
    var app: String

    @Option(help: ArgumentHelp("The publisher's manifests folder.", valueName: "dir"))
    var manifests = "Manifests"

    @Option(help: ArgumentHelp("Read the old key's passphrase from this file (else $BUNDLECAST_PASSPHRASE, else a prompt).", valueName: "file"))
    var oldPassphraseFile: String?

    @Option(help: ArgumentHelp("Read the new key's passphrase from this file (else $BUNDLECAST_PASSPHRASE, else a prompt).", valueName: "file"))
    var newPassphraseFile: String?

    @Option(help: ArgumentHelp("The last sequence the old key legitimately signed (default: the highest among the notices under --manifests).", valueName: "n"))
    var floor: UInt64?

    @Option(help: ArgumentHelp("Post the statement to this origin (http://HOST:PORT); the epoch follows the origin's.", valueName: "url"))
    var origin: String?

    @Option(help: ArgumentHelp("Give the statement to this node's admin API, which spreads it by gossip.", valueName: "host:port"), transform: HostPort.parse)
    var node: HostPort?

    func validate() throws {
        if let problem = Identifier.problem(app) { throw ValidationError("--app \(problem)") }
        if let floor, floor > RotationStatement.maxFloor { throw ValidationError("--floor \(floor) is above 2^63-1") }
    }

    func run() async throws {
        try await reportingAsync {
            let client = try origin.map { try OriginClient(url: $0) }
            let remote = try await client?.pinnedKey(app: app)
            let oldKey = try loadSecretKey(old, passphrase: PassphraseSource(file: oldPassphraseFile))
            let newKey = try loadSecretKey(new, passphrase: PassphraseSource(file: newPassphraseFile))
            let files = RotationFiles(store: ManifestStore(root: manifests))
            // Already done on the origin: send what was written (the origin answers that it has it).
            let originState = remote.flatMap { $0.keyID == newKey.keyID ? nil : $0 }
            let (rotation, path, isNew) = try files.rotate(app: app, old: oldKey, new: newKey, created: try Release.created(),
                                                           floor: floor, origin: originState)
            let s = rotation.statement
            if isNew {
                print("signed the rotation of \(app) from key \(s.oldKeyID) to \(s.newKeyID) as epoch \(s.epoch), floor \(s.floor); wrote \(path)")
            } else {
                print("\(path) already rotates \(app) from \(s.oldKeyID) to \(s.newKeyID) (epoch \(s.epoch)); sending it")
            }
            if let client {
                switch try await client.submit(rotation) {
                case .rotated: print("origin \(client.base): \(app) is signed by key \(s.newKeyID) from epoch \(s.epoch) on")
                case .known: print("origin \(client.base): already had this statement")
                }
            }
            if let node {
                print("node \(node): \(try await NodeAdminClient(url: node.httpURL).rotate(rotation.bytes))")
            }
        }
    }
}
