import BundlecastCore
import Foundation

/// The chunk store's books: where each chunk lies, and each pack's live records and writers.
extension ChunkStore {
    struct Location {
        var pack: UInt32
        /// Where the record's header starts; the bytes follow it.
        var offset: UInt64
        var size: UInt32
        /// Checked against its digest by this process (see the type's comment).
        var verified: Bool
        /// When this process last wrote, checked or handed out the chunk's bytes (seconds of
        /// ``ChunkStore/clock``; 0: never): recent bytes are taken to be in the page cache.
        var touched: UInt32 = 0
    }

    struct Pack {
        let file: ChunkPack
        var live = 0
        var liveBytes: UInt64 = 0
        /// Writes with an offset reserved here and not yet recorded: the pack stays while any runs.
        var writers = 0
        /// Where the next record goes (for the pack being appended to).
        var end: UInt64
    }

    struct State {
        var chunks: [Digest256: Location] = [:]
        var packs: [UInt32: Pack] = [:]
        /// The pack new chunks are appended to, if one is open for appends.
        var active: UInt32?
        var nextNumber: UInt32 = 1
        /// Bytes of the live chunks (what `--max-store` limits).
        var bytes: UInt64 = 0
        /// Bytes being written now, counted against the limit until they are in (or failed).
        var reserved: UInt64 = 0
        /// A pack takes no more appends once it is this large (records are never split).
        var packSize: UInt64

        mutating func insert(_ digest: Digest256, _ location: Location) {
            chunks[digest] = location
            packs[location.pack]!.live += 1
            packs[location.pack]!.liveBytes += UInt64(location.size)
            bytes += UInt64(location.size)
        }

        /// Forgets a chunk; returns its record to bury, and its pack if that is now to be
        /// deleted (see ``release(_:)``; the caller unlinks it).
        mutating func remove(_ digest: Digest256) -> (record: (ChunkPack, UInt64), emptied: ChunkPack?)? {
            guard let location = chunks.removeValue(forKey: digest), let pack = packs[location.pack] else { return nil }
            bytes -= UInt64(location.size)
            packs[location.pack]!.live -= 1
            packs[location.pack]!.liveBytes -= UInt64(location.size)
            return ((pack.file, location.offset), release(location.pack))
        }

        /// The pack, taken out of the table when nothing live is in it, no write is under way
        /// in it and it takes no appends: the caller unlinks it.
        mutating func release(_ number: UInt32) -> ChunkPack? {
            guard let pack = packs[number], pack.live == 0, pack.writers == 0, active != number else { return nil }
            packs[number] = nil
            return pack.file
        }

        /// A write reserved in the pack is recorded (or given up); returns the pack if it is
        /// now to be deleted.
        mutating func finishWrite(in number: UInt32) -> ChunkPack? {
            packs[number]?.writers -= 1
            return release(number)
        }

        /// Room for one record of `size` bytes: the pack and offset to write it at.
        /// Room for one record of `size` bytes: the pack and offset to write it at. The caller
        /// ends the write with ``finishWrite(in:)``.
        mutating func reserve(_ size: Int, in directory: String) throws -> (ChunkPack, UInt64) {
            if let number = active, let pack = packs[number], pack.end < packSize {
                packs[number]!.end += UInt64(ChunkPack.headerSize + size)
                packs[number]!.writers += 1
                return (pack.file, pack.end)
            }
            // The full pack takes no more appends; with nothing live in it, it goes.
            if let number = active {
                active = nil
                if let done = release(number) { unlink(done.path) }
            }
            let file = try ChunkPack.open(nextNumber, in: directory, create: true)
            nextNumber = number(after: file.number)
            packs[file.number] = Pack(file: file, writers: 1, end: UInt64(ChunkPack.headerSize + size))
            active = file.number
            return (file, 0)
        }

        /// The number for the pack after pack `n`: the next one up that no pack holds,
        /// starting again at 1 past the top (a store holding `pack-4294967295`, copied or
        /// planted). After such a wrap a higher number is no longer a newer pack; that order
        /// only picks between two copies of a chunk after a cut compaction, and a copy is
        /// taken only if it hashes.
        func number(after n: UInt32) -> UInt32 {
            var next = n
            repeat { next &+= 1 } while next == 0 || packs[next] != nil
            return next
        }

        /// A write into the pack failed: what follows it could not be found by a scan, so
        /// appends move on to a new pack. Returns the pack if it is now to be deleted.
        mutating func seal(_ number: UInt32) -> ChunkPack? {
            if active == number { active = nil }
            return finishWrite(in: number)
        }
    }
}
