#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import BundlecastCore

/// The publisher's `Manifests/` folder: per app, `VERSION.manifest` and its
/// release notice `VERSION.manifest.minisig`; later notices for the same
/// manifest sit beside them as `VERSION.manifest.SEQUENCE.minisig`.
public struct ManifestStore: Sendable {
    public let root: String

    public init(root: String) { self.root = root }

    public func directory(app: String) -> String { root + "/" + app }
    public func manifestPath(app: String, version: SemanticVersion) -> String { directory(app: app) + "/\(version).manifest" }
    public func noticePath(app: String, version: SemanticVersion) -> String { manifestPath(app: app, version: version) + ".minisig" }

    /// Every notice under `Manifests/APP/`, parsed (not verified), by file name.
    /// A file that does not parse is an error: the sequence must never be
    /// computed from a folder that is not understood.
    public func notices(app: String) throws -> [(path: String, notice: SignedNotice)] {
        let dir = directory(app: app)
        guard let handle = opendir(dir) else {
            if errno == ENOENT { return [] }
            throw FileError.errno("list", dir)
        }
        defer { closedir(handle) }
        var found: [(String, SignedNotice)] = []
        while let entry = readdir(handle) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { String(decoding: $0.prefix(while: { $0 != 0 }), as: UTF8.self) }
            guard name.hasSuffix(".minisig") else { continue }
            let path = dir + "/" + name
            do {
                found.append((path, try SignedNotice(bytes: try PosixFile.readAll(path, limit: 4096))))
            } catch {
                throw ReleaseError("\(path): \(error); move it out of \(dir) or fix it")
            }
        }
        return found.sorted { $0.1.notice.sequence < $1.1.notice.sequence }
    }

    /// Writes a new release's manifest and notice; never replaces a file.
    public func write(manifest: [UInt8], notice: SignedNotice) throws {
        let app = notice.notice.app
        let version = notice.notice.version
        try AtomicWrite.makeDirectories(directory(app: app))
        let manifestPath = manifestPath(app: app, version: version)
        try AtomicWrite.createNew(manifestPath, bytes: manifest)
        do {
            try AtomicWrite.createNew(noticePath(app: app, version: version), bytes: notice.bytes)
        } catch {
            unlink(manifestPath)
            throw error
        }
    }
}

/// A release the publisher must change before it can go out.
public struct ReleaseError: Error, Equatable, CustomStringConvertible {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}
