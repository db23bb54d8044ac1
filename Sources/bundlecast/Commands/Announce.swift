import ArgumentParser
import BundlecastCore
import Origin
import Node
import Publisher

struct Announce: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Send an existing signed notice (or rotation statement) to the origin again.",
        discussion: """
            For a release whose announcement failed, or to send a notice to another origin. \
            Sending the same notice twice is harmless: the origin answers that it has it.

            With --node, the notice goes to a node's admin API instead, which verifies it and \
            spreads it by gossip. A rotation statement (rotations/EPOCH.rotation) is sent the \
            same way, e.g. to an origin or node set up after the rotation.

            Examples:
              bundlecast announce Manifests/acme/1.4.0.manifest.minisig --origin http://127.0.0.1:7300
              bundlecast announce Manifests/acme/1.4.0.manifest.minisig --node 127.0.0.1:7947
              bundlecast announce Manifests/acme/rotations/1.rotation --origin http://127.0.0.1:7300
            """
    )

    @Argument(help: ArgumentHelp("The notice (.minisig) or rotation statement (.rotation).", valueName: "notice"))
    var notice: String

    @Option(help: ArgumentHelp("The origin's URL.", valueName: "url"))
    var origin: String?

    @Option(help: ArgumentHelp("A node's admin address, instead of an origin.", valueName: "host:port"), transform: HostPort.parse)
    var node: HostPort?

    func validate() throws {
        guard (origin == nil) != (node == nil) else { throw ValidationError("give exactly one of --origin URL and --node HOST:PORT") }
    }

    func run() async throws {
        try await reportingAsync {
            let bytes = try PosixFile.readAll(notice, limit: 4096)
            if SignedRotation.looksLike(bytes) { return try await announceRotation(bytes) }
            let signed: SignedNotice
            do { signed = try SignedNotice(bytes: bytes) } catch { throw Failure("\(notice): \(error)") }
            let n = signed.notice
            if let node {
                let message = try await NodeAdminClient(url: node.httpURL).announce(bytes)
                print("node \(node): \(message)")
                return
            }
            let client = try OriginClient(url: origin!)
            switch try await client.announce(signed) {
            case .created: print("announced \(n.app) \(n.version) (sequence \(n.sequence), channel \(n.channel)) to \(client.base)")
            case .alreadyKnown: print("the origin already has \(n.app) \(n.version) sequence \(n.sequence)")
            }
        }
    }

    private func announceRotation(_ bytes: [UInt8]) async throws {
        let rotation: SignedRotation
        do { rotation = try SignedRotation(bytes: bytes) } catch { throw Failure("\(notice): \(error)") }
        if let node {
            print("node \(node): \(try await NodeAdminClient(url: node.httpURL).rotate(bytes))")
            return
        }
        let client = try OriginClient(url: origin!)
        let s = rotation.statement
        print("origin \(client.base): \(try await client.submit(rotation).rawValue) \(s.app) key \(s.newKeyID) at epoch \(s.epoch)")
    }
}
