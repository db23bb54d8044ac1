import BundlecastCore
import Foundation
import Publisher
import Synchronization

/// Manifests a node holds, by digest: `DATA/manifests/HEX.manifest`. Each is
/// parsed and its digest checked before it is written, and it is read back
/// only through the same check, so a file here is always the manifest its
/// name says. (Whether a manifest is *signed* is a notice's question; a
/// manifest no kept version or notice names is collected.)
public final class ManifestCache: Sendable {
    public let root: String
    /// Canonical manifests of very large bundles stay well under this (a
    /// 1 GiB bundle's is about 1.3 MiB); it fits one transfer frame.
    public static let maxBytes = Manifest.maxEncodedBytes

    /// The last few manifests parsed, newest last: a manifest is read, hashed and parsed
    /// once, not on every have-query or status (a 1 GiB bundle's takes milliseconds).
    private let parsed = Mutex<[(digest: Digest256, manifest: Manifest)]>([])
    private static let parsedKept = 4

    public init(root: String) throws {
        self.root = root
        try AtomicWrite.makeDirectories(root)
    }

    public func path(of digest: Digest256) -> String { root + "/" + digest.hex + ".manifest" }

    public func contains(_ digest: Digest256) -> Bool { access(path(of: digest), F_OK) == 0 }

    /// Stores manifest bytes after checking that they parse and hash to `digest`.
    /// `parsed`: the same bytes already parsed by the caller (a signature check parses them).
    @discardableResult
    public func put(_ bytes: [UInt8], digest: Digest256, parsed known: Manifest? = nil) throws -> Manifest {
        guard Blake2b.digest256(bytes) == digest else {
            throw NodeStoreError("manifest bytes do not hash to \(digest.short)")
        }
        let manifest = try known ?? ManifestCoder.decode(bytes)
        if !contains(digest) {
            let written = Result { try AtomicWrite.createNew(path(of: digest), bytes: bytes) }
            // Two deliveries of the same manifest may race; the second finds the first's file.
            if case .failure(let error) = written, !contains(digest) { throw error }
        } else if self.bytes(digest) == nil {
            // A file there that no longer hashes to its name (damaged on disk): the good copy
            // replaces it.
            try AtomicWrite.replace(path(of: digest), bytes: bytes)
        }
        remember(digest, manifest)
        return manifest
    }

    /// The stored bytes, or nil when not held (or no longer matching).
    public func bytes(_ digest: Digest256) -> [UInt8]? {
        guard let bytes = try? PosixFile.readAll(path(of: digest), limit: Self.maxBytes),
              Blake2b.digest256(bytes) == digest else { return nil }
        return bytes
    }

    /// The stored manifest's size in bytes, without reading it; nil when not held or too large.
    public func size(of digest: Digest256) -> Int? {
        var st = stat()
        guard stat(path(of: digest), &st) == 0, st.st_size >= 0, st.st_size <= Self.maxBytes else { return nil }
        return Int(st.st_size)
    }

    public func manifest(_ digest: Digest256) -> Manifest? {
        if let known = parsed.withLock({ $0.last { $0.digest == digest }?.manifest }), contains(digest) { return known }
        guard let manifest = bytes(digest).flatMap({ try? ManifestCoder.decode($0) }) else { return nil }
        remember(digest, manifest)
        return manifest
    }

    public func remove(_ digest: Digest256) {
        parsed.withLock { $0.removeAll { $0.digest == digest } }
        unlink(path(of: digest))
    }

    private func remember(_ digest: Digest256, _ manifest: Manifest) {
        parsed.withLock { list in
            list.removeAll { $0.digest == digest }
            list.append((digest, manifest))
            if list.count > Self.parsedKept { list.removeFirst() }
        }
    }

    /// Seconds since the manifest was stored (for the quarantine of seeded manifests).
    public func age(_ digest: Digest256) -> Double {
        var st = stat()
        guard stat(path(of: digest), &st) == 0 else { return .infinity }
        return Date().timeIntervalSince1970 - Double(st.st_mtim.tv_sec)
    }

    /// Every manifest held.
    public func all() -> [Digest256] {
        ((try? FileManager.default.contentsOfDirectory(atPath: root)) ?? []).compactMap { name in
            name.hasSuffix(".manifest") ? Digest256(hex: name.dropLast(9)) : nil
        }.sorted()
    }
}

extension Manifest {
    /// The distinct chunks in order of first appearance: the index space of
    /// have-sets on the wire and of the swarm planner.
    public var distinctChunks: [ChunkRef] {
        var seen = Set<Digest256>()
        var out: [ChunkRef] = []
        for entry in entries {
            for chunk in entry.chunks where seen.insert(chunk.digest).inserted { out.append(chunk) }
        }
        return out
    }
}
