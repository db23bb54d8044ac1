import ArgumentParser
import BundlecastCore
import Foundation

struct Diff: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Show what a node holding OLD must fetch to get NEW.",
        discussion: """
            Counts the distinct chunks of NEW that OLD lacks, and their bytes: the whole \
            download of an update, since chunks are shared across files and versions.
            --json prints {"chunks", "bytes", "totalChunks", "totalBytes", "uniqueBytes", \
            "filesAdded", "filesRemoved", "filesChanged"}.

            Example:
              bundlecast diff Manifests/acme/1.3.0.manifest Manifests/acme/1.4.0.manifest
            """
    )

    @Argument(help: ArgumentHelp("The manifest a node holds.", valueName: "old"))
    var old: String

    @Argument(help: ArgumentHelp("The manifest it updates to.", valueName: "new"))
    var new: String

    @Option(help: ArgumentHelp("Verify both manifests' notices against this public key first.", valueName: "file"))
    var pub: String?

    @Flag(help: "Print JSON.")
    var json = false

    func run() throws {
        try reporting {
            let from: Manifest
            let to: Manifest
            if let pub {
                let key = try loadPublicKey(pub)
                from = try loadVerified(manifest: old, signature: nil, key: key).0
                to = try loadVerified(manifest: new, signature: nil, key: key).0
            } else {
                from = try loadManifest(old)
                to = try loadManifest(new)
            }
            let diff = ManifestDiff(from: from, to: to)
            if json {
                let encoder = JSONEncoder()
                encoder.outputFormatting = [.sortedKeys]
                print(String(decoding: try encoder.encode(diff), as: UTF8.self))
            } else {
                print("\(to.app) \(from.version) -> \(to.version): fetch \(diff.chunks) of \(diff.totalChunks) chunks, "
                    + "\(Format.bytes(diff.bytes)) of \(Format.bytes(diff.uniqueBytes)) (\(Format.percent(diff.bytes, of: diff.uniqueBytes)))")
                print("files: \(diff.filesAdded) added, \(diff.filesRemoved) removed, \(diff.filesChanged) changed; new bundle \(Format.bytes(diff.totalBytes))")
            }
        }
    }
}
