import ArgumentParser
import BundlecastCore
import Origin
import Publisher

struct Announce: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Send an existing signed notice to the origin again.",
        discussion: """
            For a release whose announcement failed, or to send a notice to another origin. \
            Sending the same notice twice is harmless: the origin answers that it has it.

            Example:
              bundlecast announce Manifests/acme/1.4.0.manifest.minisig --origin http://127.0.0.1:7300
            """
    )

    @Argument(help: ArgumentHelp("The notice (.minisig).", valueName: "notice"))
    var notice: String

    @Option(help: ArgumentHelp("The origin's URL.", valueName: "url"))
    var origin: String

    func run() async throws {
        try await reportingAsync {
            let bytes = try PosixFile.readAll(notice, limit: 4096)
            let signed: SignedNotice
            do { signed = try SignedNotice(bytes: bytes) } catch { throw Failure("\(notice): \(error)") }
            let client = try OriginClient(url: origin)
            let n = signed.notice
            switch try await client.announce(signed) {
            case .created: print("announced \(n.app) \(n.version) (sequence \(n.sequence), channel \(n.channel)) to \(client.base)")
            case .alreadyKnown: print("the origin already has \(n.app) \(n.version) sequence \(n.sequence)")
            }
        }
    }
}
