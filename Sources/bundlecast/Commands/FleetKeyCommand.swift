import ArgumentParser
import BundlecastCore
import Publisher
#if canImport(Glibc)
import Glibc
#endif

struct FleetKeyCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "fleet-key",
        abstract: "Make the fleet's shared key, which authenticates gossip between nodes.",
        discussion: """
            Writes 32 random bytes (base64, mode 0600). Give the same file to every node with \
            --fleet-key: packets without a valid tag are dropped and counted. Never overwrites.

            Example:
              bundlecast fleet-key --out /etc/bundlecast/fleet.key
            """
    )

    @Option(help: ArgumentHelp("The key file to create.", valueName: "file"))
    var out: String

    func run() throws {
        try reporting {
            guard access(out, F_OK) != 0 else { throw Failure("\(out) already exists; fleet-key never overwrites a key") }
            if let slash = out.lastIndex(of: "/"), slash != out.startIndex { try AtomicWrite.makeDirectories(String(out[..<slash])) }
            try AtomicWrite.createNew(out, bytes: Array(FleetKey.generate().fileText.utf8), mode: 0o600)
            print("wrote \(out) (mode 0600): copy it to every node of the fleet, and keep it secret")
        }
    }
}
