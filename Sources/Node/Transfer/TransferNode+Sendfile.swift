import BundlecastCore
import CFileOps
import NIOCore
import TransferWire

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Chunks sent by the kernel from their pack file (`sendfile`), with no copy into memory.
extension TransferNode {
    /// Whether chunks may go out as file regions: not through the fleet cipher (it seals bytes
    /// it holds), and not when the test flag that alters every chunk sent is on.
    var sendsChunksFromFiles: Bool { settings.fleetKey == nil && !settings.corruptUploads }

    /// Regions written and not yet sent, node-wide: each holds a descriptor of its own, and a
    /// peer that stops reading must not make the node hold one per request it can queue.
    /// Past this, chunks take the read path.
    static let maxRegionsInFlight = 128

    /// Chunks smaller than this take the read path: for them a read and a copy cost less than
    /// a descriptor's duplicate, `fstat`, `close` and a second write.
    static let minRegionBytes = 16 << 10

    /// Sends the chunk as its frame header and a region of its pack file; false when it is to
    /// be read and sent from a buffer instead (not held as verified, too small, or too many
    /// regions in flight): the caller does that.
    ///
    /// A read into a buffer and a socket write of it cost a copy each way; the kernel sends a
    /// region straight from the page cache. A chunk this process wrote, checked or sent in
    /// the last ``ChunkStore/recentSeconds`` is taken to be there and goes at once; any other
    /// is first read ahead into the page cache on the I/O queue, so the event loop does not
    /// wait for the disk (a hop for every chunk cost CPU that showed in the benchmark:
    /// docs/benchmarks.md, *CPU per chunk*). Header and region are written in one turn of
    /// the channel's loop, so no other frame falls between them (no handler here writes from
    /// a writability change).
    ///
    /// A pack must not be truncated under a running node: `sendfile` past the end of a file
    /// sends nothing, and the connection would spin until its stall check closes it.
    /// ``ChunkStore/openForSending(_:)`` drops a chunk whose pack is already short.
    func sendFromFile(_ upload: Upload) -> Bool {
        guard sendsChunksFromFiles, upload.size >= Self.minRegionBytes else { return false }
        guard regionsInFlight.add(1, ordering: .relaxed).newValue <= Self.maxRegionsInFlight else {
            regionsInFlight.subtract(1, ordering: .relaxed)
            return false
        }
        let opened = chunks.openForSending(upload.digest)
        if let opened, opened.size != upload.size { close(opened.fd) }
        guard let (fd, offset, size, recent) = opened, size == upload.size else {
            regionsInFlight.subtract(1, ordering: .relaxed)
            return false
        }
        if recent {
            writeRegion(upload, fd: fd, offset: Int(offset))
        } else {
            io.async { [self] in
                cfileops_read_ahead(fd, Int(offset), size)
                writeRegion(upload, fd: fd, offset: Int(offset))
            }
        }
        return true
    }

    private func writeRegion(_ upload: Upload, fd: Int32, offset start: Int) {
        let (digest, size, channel) = (upload.digest, upload.size, upload.channel)
        count {
            $0.bytesOut += UInt64(size)
            $0.chunksOut += 1
            $0.chunksOutFromFile? += 1
        }
        // If the loop is already shut down the closure never runs: the node is stopping, and
        // its descriptor goes with the process.
        channel.eventLoop.execute { [self] in
            let handle = NIOFileHandle(_deprecatedTakingOwnershipOfDescriptor: fd)
            let header = TransferFrame.chunkHeader(digest)
            var head = channel.allocator.buffer(capacity: 4 + header.count)
            head.writeInteger(UInt32(header.count + size))
            head.writeBytes(header)
            let promise = channel.eventLoop.makePromise(of: Void.self)
            promise.futureResult.whenComplete { [self] result in
                try? handle.close()
                regionsInFlight.subtract(1, ordering: .relaxed)
                uploadDone(upload, sent: (try? result.get()) != nil)
            }
            channel.write(head, promise: nil)
            channel.writeAndFlush(FileRegion(fileHandle: handle, readerIndex: start, endIndex: start + size), promise: promise)
        }
    }
}
