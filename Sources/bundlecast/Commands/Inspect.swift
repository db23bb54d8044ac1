import ArgumentParser
import BundlecastCore
import Foundation

struct Inspect: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Print a manifest readably.",
        discussion: """
            Lists every entry: mode ('x' executable, '-' not, 'l' symlink), size, chunk count, path. \
            This checks the manifest's format, not its signature: use `bundlecast verify` for that.

            Example:
              bundlecast inspect Manifests/acme/1.4.0.manifest --json
            """
    )

    @Argument(help: ArgumentHelp("The manifest.", valueName: "manifest"))
    var path: String

    @Flag(help: "Print JSON, with every chunk.")
    var json = false

    func run() throws {
        try reporting {
            let m = try loadManifest(path)
            if json {
                let encoder = JSONEncoder()
                encoder.outputFormatting = [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes]
                print(String(decoding: try encoder.encode(ManifestJSON(m)), as: UTF8.self))
                return
            }
            print("\(m.app) \(m.version)  manifest \(m.digest.hex)")
            print("\(m.entries.count) entries, \(Format.bytes(m.totalSize)), \(m.chunkCount) chunks")
            for entry in m.entries {
                switch entry.kind {
                case .file(let x, let size, _, let chunks):
                    print("\(x ? "x" : "-") \(String(size).leftPadded(12)) \(String(chunks.count).leftPadded(6))  \(entry.path)")
                case .symlink(let target):
                    print("l \(String(repeating: " ", count: 19))  \(entry.path) -> \(target)")
                }
            }
        }
    }
}

/// The JSON shape of `inspect --json`.
struct ManifestJSON: Encodable {
    struct Chunk: Encodable {
        let digest: String
        let size: UInt32
    }

    struct Entry: Encodable {
        let path: String
        let type: String
        let executable: Bool?
        let size: UInt64?
        let digest: String?
        let chunks: [Chunk]?
        let target: String?
    }

    let app: String
    let version: String
    let digest: String
    let totalSize: UInt64
    let entries: [Entry]

    init(_ m: Manifest) {
        app = m.app
        version = m.version.description
        digest = m.digest.hex
        totalSize = m.totalSize
        entries = m.entries.map { e in
            switch e.kind {
            case .file(let x, let size, let digest, let chunks):
                return Entry(path: e.path, type: "file", executable: x, size: size, digest: digest.hex,
                             chunks: chunks.map { Chunk(digest: $0.digest.hex, size: $0.size) }, target: nil)
            case .symlink(let target):
                return Entry(path: e.path, type: "symlink", executable: nil, size: nil, digest: nil, chunks: nil, target: target)
            }
        }
    }
}

extension String {
    func leftPadded(_ width: Int) -> String {
        count >= width ? self : String(repeating: " ", count: width - count) + self
    }
}
