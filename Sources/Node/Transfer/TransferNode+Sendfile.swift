import BundlecastCore
import Glibc
import NIOCore
import TransferWire

/// Chunks sent by the kernel from their pack file (`sendfile`), with no read into memory.
extension TransferNode {
    /// Whether chunks may go out as file regions: not through the fleet cipher (it seals bytes
    /// it holds), and not when the test flag that alters every chunk sent is on.
    var sendsChunksFromFiles: Bool { settings.fleetKey == nil && !settings.corruptUploads }

    /// Writes the chunk's frame as its header and a region of the pack file; false when the
    /// chunk is not held as verified (``ChunkStore/openForSending(_:)``): read and check it instead.
    ///
    /// Reading a chunk into a buffer and writing that buffer cost a copy each way and a hop
    /// through the I/O queue; the kernel sends a file region straight from the page cache,
    /// where a chunk stored or sent a moment ago still is. The header and the region are
    /// written in one turn of the channel's loop, so no other frame falls between them.
    func sendFromFile(_ upload: Upload) -> Bool {
        guard sendsChunksFromFiles, let (fd, offset, size) = chunks.openForSending(upload.digest), size == upload.size else {
            return false
        }
        let (digest, channel, connection) = (upload.digest, upload.channel, upload.connection)
        let start = Int(offset)
        count {
            $0.bytesOut += UInt64(size)
            $0.chunksOut += 1
        }
        channel.eventLoop.execute { [self] in
            let handle = NIOFileHandle(_deprecatedTakingOwnershipOfDescriptor: fd)
            let header = TransferFrame.chunkHeader(digest)
            var head = channel.allocator.buffer(capacity: 4 + header.count)
            head.writeInteger(UInt32(header.count + size))
            head.writeBytes(header)
            let promise = channel.eventLoop.makePromise(of: Void.self)
            promise.futureResult.whenComplete { [self] _ in
                try? handle.close()
                _ = connection.finish(digest)
                bulkDone(size, connection, channel)
            }
            channel.write(head, promise: nil)
            channel.writeAndFlush(FileRegion(fileHandle: handle, readerIndex: start, endIndex: start + size), promise: promise)
        }
        return true
    }
}
