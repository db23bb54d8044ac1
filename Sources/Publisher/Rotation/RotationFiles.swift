#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import BundlecastCore

/// The publisher's rotation chain of one app: `Manifests/APP/rotations/EPOCH.rotation`,
/// one signed statement per epoch.
public struct RotationFiles: Sendable {
    public let store: ManifestStore

    public init(store: ManifestStore) { self.store = store }

    public func directory(app: String) -> String { store.directory(app: app) + "/rotations" }
    public func path(app: String, epoch: UInt64) -> String { directory(app: app) + "/\(epoch).rotation" }

    /// Every statement of `app`, parsed (not verified), by epoch. A file that does not
    /// parse, or whose name is not its epoch, is an error: the next epoch must never
    /// be computed from a folder that is not understood.
    public func chain(app: String) throws -> [(path: String, rotation: SignedRotation)] {
        let dir = directory(app: app)
        guard let handle = opendir(dir) else {
            if errno == ENOENT { return [] }
            throw FileError.errno("list", dir)
        }
        defer { closedir(handle) }
        var found: [(String, SignedRotation)] = []
        while let entry = readdir(handle) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { String(decoding: $0.prefix(while: { $0 != 0 }), as: UTF8.self) }
            guard name.hasSuffix(".rotation") else { continue }
            let path = dir + "/" + name
            let rotation: SignedRotation
            do { rotation = try SignedRotation(bytes: try PosixFile.readAll(path, limit: SignedRotation.maxBytes + 1)) } catch {
                throw ReleaseError("\(path): \(error); move it out of \(dir) or fix it")
            }
            guard name == "\(rotation.statement.epoch).rotation", rotation.statement.app == app else {
                throw ReleaseError("\(path) holds \(rotation.statement.app)'s statement for epoch \(rotation.statement.epoch); its name must be \(rotation.statement.epoch).rotation under \(app)")
            }
            found.append((path, rotation))
        }
        return found.sorted { $0.1.statement.epoch < $1.1.statement.epoch }
    }

    /// The statement rotating `old` to `new`: an existing one (a rotation made before,
    /// whose delivery may have failed) or a new one at the next epoch, signed and written.
    ///
    /// The next epoch is one above `originEpoch` when the origin's state is known (its key
    /// must then be `old`), else one above the last statement here (which must have
    /// rotated to `old`), else 1: `old` is the key first pinned.
    ///
    /// The floor is `floor` when given, else the highest sequence among the notices under
    /// `Manifests/APP/`: what this publisher signed is what counts, and a notice a thief
    /// signed with the old key (never written here) falls above it.
    public func rotate(app: String, old: SecretKey, new: SecretKey, created: UInt64, floor: UInt64? = nil,
                       origin: (keyID: KeyID, epoch: UInt64)? = nil) throws -> (rotation: SignedRotation, path: String, isNew: Bool) {
        try Identifier.validateApp(app)
        guard old.keyID != new.keyID else { throw ReleaseError("--old and --new are the same key (\(old.keyID))") }
        let chain = try chain(app: app)
        // The rotation was made before (its post may have failed): send it again rather than sign another.
        if let made = chain.last, made.rotation.statement.oldKeyID == old.keyID, made.rotation.statement.newKey == new.publicKey,
           origin.map({ $0.epoch < made.rotation.statement.epoch }) ?? true {
            return (made.rotation, made.path, false)
        }
        let epoch: UInt64
        if let origin {
            guard origin.keyID == old.keyID else {
                throw ReleaseError("the origin checks \(app) against key \(origin.keyID) (epoch \(origin.epoch)), not the --old key \(old.keyID): rotate from the key it holds")
            }
            // The origin's answer came over the network: the next epoch must still exist.
            guard origin.epoch < RotationStatement.maxEpoch else {
                throw ReleaseError("the origin says \(app) is at epoch \(origin.epoch); no epoch is left above it (the most is \(RotationStatement.maxEpoch))")
            }
            epoch = origin.epoch + 1
        } else if let last = chain.last?.rotation.statement {
            guard last.newKeyID == old.keyID else {
                throw ReleaseError("the last rotation of \(app) (epoch \(last.epoch), \(path(app: app, epoch: last.epoch))) is to key \(last.newKeyID), not the --old key \(old.keyID); after a re-pin, move \(directory(app: app)) away: a re-pin starts a new chain")
            }
            epoch = last.epoch + 1
        } else {
            epoch = 1
        }
        let target = path(app: app, epoch: epoch)
        if chain.contains(where: { $0.rotation.statement.epoch == epoch }) {
            throw ReleaseError("\(target) already rotates \(app) to another key; move it away to rotate to \(new.keyID) instead")
        }
        let signed = try floor ?? store.notices(app: app).map(\.notice.notice.sequence).max() ?? 0
        let statement = try RotationStatement(app: app, epoch: epoch, oldKeyID: old.keyID, newKey: new.publicKey, floor: signed, created: created)
        let rotation = try SignedRotation.sign(statement, old: old, new: new)
        try AtomicWrite.makeDirectories(directory(app: app))
        try AtomicWrite.createNew(target, bytes: rotation.bytes)
        return (rotation, target, true)
    }
}
