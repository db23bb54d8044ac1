import BundlecastCore

/// The paths of one installed version, as its signed manifest lists them: the only paths
/// the content server answers for ("what the publisher signed is shareable, nothing else").
///
/// A request path is resolved over the manifest the way the kernel would resolve it over the
/// installed tree: a symlink entry continues with its target, relative to the link's
/// directory; directories are the parents of entries. Nothing the manifest does not list can
/// be reached, whatever is on disk, and a target that climbs above the root ends the walk.
public struct ReleaseTree: Sendable {
    public let app: String
    public let version: String
    /// Where the version is installed (`DATA/apps/APP/VERSION`).
    public let root: String
    private let entries: [String: Node]
    private let directories: Set<String>

    /// A file as served: what its answers' headers say, worked out once per version.
    public struct File: Equatable, Sendable {
        public let path: String
        public let size: UInt64
        public let digest: Digest256
        /// The strong `ETag`: the file digest the manifest signs, quoted.
        public let etag: String
        public let contentType: String
    }

    private enum Node {
        case file(File)
        case symlink(target: String)
    }

    /// Symlink hops followed for one request, as `SymlinkCheck` allows at release.
    static let maxHops = 40

    public init(manifest: Manifest, root: String) {
        app = manifest.app
        version = manifest.version.description
        self.root = root
        var entries: [String: Node] = [:]
        var directories: Set<String> = [""]
        for entry in manifest.entries {
            switch entry.kind {
            case .file(_, let size, let digest, _):
                entries[entry.path] = .file(File(path: entry.path, size: size, digest: digest, etag: "\"\(digest.hex)\"",
                                                 contentType: ContentTypes.of(path: entry.path)))
            case .symlink(let target):
                entries[entry.path] = .symlink(target: target)
            }
            var path = Substring(entry.path)
            while let slash = path.lastIndex(of: "/") {
                path = path[..<slash]
                guard directories.insert(String(path)).inserted else { break }
            }
        }
        self.entries = entries
        self.directories = directories
    }

    /// What a path resolves to.
    public enum Resolution: Equatable, Sendable {
        /// A regular file of the manifest.
        case file(File)
        /// A directory the manifest's paths imply ("" is the root).
        case directory(path: String)
        case notFound
    }

    /// Resolves decoded path segments (none of them empty, `.` or `..`).
    public func resolve(_ segments: [String]) -> Resolution {
        var pending = Array(segments.reversed())
        var resolved: [String] = []
        var hops = 0
        while let segment = pending.popLast() {
            if segment == "." || segment.isEmpty { continue }
            if segment == ".." {
                guard !resolved.isEmpty else { return .notFound }
                resolved.removeLast()
                continue
            }
            let path = (resolved + [segment]).joined(separator: "/")
            switch entries[path] {
            case .symlink(let target):
                hops += 1
                guard hops <= Self.maxHops, !target.hasPrefix("/") else { return .notFound }
                pending.append(contentsOf: target.split(separator: "/", omittingEmptySubsequences: true).reversed().map(String.init))
            case .file(let file):
                // A file ends the walk; a path that goes on below it names nothing.
                guard pending.isEmpty else { return .notFound }
                return .file(file)
            case nil:
                guard directories.contains(path) else { return .notFound }
                resolved.append(segment)
            }
        }
        return .directory(path: resolved.joined(separator: "/"))
    }
}
