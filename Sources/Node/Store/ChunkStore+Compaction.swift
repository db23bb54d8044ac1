import BundlecastCore
import Foundation

/// Garbage collection: dropping what no release needs, and compacting mostly dead packs.
extension ChunkStore {
    /// Drops every chunk not in `keep`, then moves the live chunks out of packs that are
    /// more than half dead; returns how many chunks were dropped, their bytes, and why
    /// compaction stopped short, if it did (the store stays correct, only larger).
    public func collect(keeping keep: Set<Digest256>) -> (chunks: Int, bytes: UInt64, problem: String?) {
        let doomed = state.withLock { s in s.chunks.filter { !keep.contains($0.key) }.map { ($0.key, $0.value.size) } }
        var bytes: UInt64 = 0
        for (digest, size) in doomed {
            remove(digest)
            bytes += UInt64(size)
        }
        return (doomed.count, bytes, compact())
    }

    /// Rewrites the live chunks of mostly dead packs into the active one, then (once those
    /// copies are on disk) buries the old records and deletes the packs left empty. A
    /// crash midway leaves a chunk in two packs; the scan at start keeps the newer.
    private func compact() -> String? {
        let sparse = state.withLock { s in
            s.packs.filter { $0.key != s.active && $0.value.liveBytes * 2 < $0.value.end }.keys.sorted()
        }
        var moved: [(ChunkPack, UInt64)] = []
        var destinations: [UInt32: ChunkPack] = [:]
        var emptied: [ChunkPack] = []
        defer {
            // Only the packs written to, and only when something moved: an fdatasync of a
            // 64 MiB pack after every install took CPU and disk from the downloads still running.
            for pack in destinations.values { fdatasync(pack.fd) }
            for (pack, offset) in moved { pack.bury(recordAt: offset) }
            for pack in emptied { unlink(pack.path) }
        }
        for number in sparse {
            let members = state.withLock { s in s.chunks.filter { $0.value.pack == number }.map(\.key) }
            for digest in members {
                guard let bytes = try? read(digest) else { continue }
                let verified = isVerified(digest)
                let pack: ChunkPack, offset: UInt64
                do {
                    (pack, offset) = try writeRecord(digest, bytes)
                } catch {
                    return "compacting the chunk store stopped: \(error)"
                }
                destinations[pack.number] = pack
                let outcome = state.withLock { s -> (old: (ChunkPack, UInt64)?, done: [ChunkPack]) in
                    var done: [ChunkPack] = []
                    guard let old = s.chunks[digest], old.pack == number, let removed = s.remove(digest) else {
                        if let d = s.finishWrite(in: pack.number) { done.append(d) }
                        return (nil, done)
                    }
                    s.insert(digest, Location(pack: pack.number, offset: offset, size: UInt32(bytes.count), verified: verified, touched: clock()))
                    if let d = removed.emptied { done.append(d) }
                    if let d = s.finishWrite(in: pack.number) { done.append(d) }
                    return (removed.record, done)
                }
                // Dropped or moved by someone else meanwhile: the new copy is dead weight.
                if let old = outcome.old { moved.append(old) } else { pack.bury(recordAt: offset) }
                emptied += outcome.done
            }
        }
        return nil
    }
}
