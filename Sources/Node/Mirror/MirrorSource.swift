import BundlecastCore
import Swarm

/// What one download of one release needs to use the app's mirrors.
struct MirrorSource: Sendable {
    let app: String
    /// The release's version: the directory of its tree on a mirror.
    let version: String
    /// In the operator's order.
    let mirrors: [ReleaseMirror]
    let book: MirrorBook
    let client: MirrorClient
    /// When a mirror is asked, how many requests at once, the back-off after a failure.
    let settings: FetchSettings

    /// Per mirror, whether it is skipped for `release` (it served wrong bytes for it lately).
    func refused(release: Digest256, now: UInt64) -> [Bool] {
        book.refused(app: app, release: release, now: now)
    }
}

/// Where a distinct chunk can be read in the released tree: the first file and offset
/// the manifest gives it (a chunk shared by several files or versions is the same bytes
/// at each).
struct ChunkLocation: Sendable, Equatable {
    let path: String
    let offset: UInt64
}

extension Manifest {
    /// Each distinct chunk's first location, in the order of ``distinctChunks``. Offsets add
    /// chunk sizes of one file, at most ``Manifest/maxSize``: no overflow.
    var chunkLocations: [ChunkLocation] {
        var seen = Set<Digest256>()
        var out: [ChunkLocation] = []
        for entry in entries {
            var offset: UInt64 = 0
            for chunk in entry.chunks {
                if seen.insert(chunk.digest).inserted { out.append(ChunkLocation(path: entry.path, offset: offset)) }
                offset += UInt64(chunk.size)
            }
        }
        return out
    }
}
