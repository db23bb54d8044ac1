import NIOCore
import TransferWire

/// Frames as they go on the wire: a u32 big-endian length, then the frame. Writers frame
/// their own bytes (there is no length-prepending handler), so a batch of small frames is
/// one buffer and one pass through the pipeline, and a chunk frame is one buffer with its
/// header in front.
extension TransferFrame {
    /// This frame with its length prefix.
    func buffer() -> ByteBuffer {
        Self.buffer([self])
    }

    /// Several frames, each with its length prefix, in one buffer.
    static func buffer(_ frames: [TransferFrame]) -> ByteBuffer {
        let encoded = frames.map { $0.encoded() }
        var out = ByteBuffer()
        out.reserveCapacity(encoded.reduce(0) { $0 + 4 + $1.count })
        for bytes in encoded {
            out.writeInteger(UInt32(bytes.count))
            out.writeBytes(bytes)
        }
        return out
    }
}
