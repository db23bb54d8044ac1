#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import BundlecastCore

/// Where a bundle's ``DigestCache`` lives: one file per bundle directory, named by a
/// digest of the directory's real path, in the publisher's cache directory
/// (`$XDG_CACHE_HOME/bundlecast/digests`, else `~/.cache/bundlecast/digests`), never in
/// the bundle. Each release rewrites it with exactly the entries of the files it released,
/// so it cannot outgrow the bundle.
public struct DigestCacheFile: Sendable {
    public let path: String
    /// The bundle's real path.
    public let root: String

    /// The cache of `bundle` under `directory`; throws when the bundle has no real path.
    public init(bundle: String, directory: String) throws(FileError) {
        guard let real = realpath(bundle, nil) else { throw FileError.errno("resolve", bundle) }
        defer { free(real) }
        root = String(cString: real)
        let name = Blake2b.digest256(Array(root.utf8)).hex.prefix(32)
        path = directory + "/" + name + ".digests"
    }

    /// The default cache directory, or `nil` when neither `XDG_CACHE_HOME` nor `HOME` is set.
    public static func defaultDirectory() -> String? {
        if let xdg = getenv("XDG_CACHE_HOME").map({ String(cString: $0) }), xdg.hasPrefix("/") {
            return xdg + "/bundlecast/digests"
        }
        if let home = getenv("HOME").map({ String(cString: $0) }), !home.isEmpty {
            return home + "/.cache/bundlecast/digests"
        }
        return nil
    }

    /// The cache as stored, or an empty one when there is none or it cannot be used.
    public func load() -> DigestCache {
        guard let bytes = try? PosixFile.readAll(path, limit: DigestCache.maxFileBytes),
              let cache = DigestCache(decoding: bytes, root: root)
        else { return DigestCache(root: root) }
        return cache
    }

    /// Replaces the stored cache (readable by the owner only: it lists the bundle's paths).
    public func save(_ cache: DigestCache) throws(FileError) {
        let directory = String(path[..<path.lastIndex(of: "/")!])
        try AtomicWrite.makeDirectories(directory)
        try AtomicWrite.replace(path, bytes: cache.encoded(), mode: 0o600)
    }
}
