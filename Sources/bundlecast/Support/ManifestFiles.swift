import BundlecastCore
import Publisher

/// Largest manifest read: about 3.5 million chunks, a 200+ GiB bundle.
let manifestSizeLimit = 256 << 20

func readManifestBytes(_ path: String) throws -> [UInt8] {
    try PosixFile.readAll(path, limit: manifestSizeLimit)
}

/// Reads and parses a manifest, naming the file in any error.
func loadManifest(_ path: String) throws -> Manifest {
    let bytes = try readManifestBytes(path)
    do { return try ManifestCoder.decode(bytes) } catch { throw Failure("\(path): \(error)") }
}

/// Reads a manifest and its notice, and verifies both against `key`.
/// Returns the manifest and the notice.
func loadVerified(manifest path: String, signature: String?, key: PublicKey) throws -> (Manifest, SignedNotice) {
    let bytes = try readManifestBytes(path)
    let sigPath = signature ?? path + ".minisig"
    let notice: SignedNotice
    do {
        notice = try SignedNotice(bytes: try PosixFile.readAll(sigPath, limit: 4096))
    } catch let error as FileError {
        throw error
    } catch {
        throw Failure("\(sigPath): \(error)")
    }
    do {
        return (try notice.verify(manifest: bytes, with: key), notice)
    } catch let error as SignatureError {
        throw Failure("\(path): \(error)", code: Exit.verificationFailed)
    } catch let error as NoticeError {
        throw Failure("\(sigPath): \(error.message)", code: Exit.verificationFailed)
    } catch {
        throw Failure("\(path): \(error)")
    }
}
