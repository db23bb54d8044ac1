import Gossip
import NIOCore

/// Push-pull frames: a big-endian u32 length, then the payload. A length over
/// the limit closes the connection at once, before any of it is buffered, so
/// a stranger cannot make a node hold gigabytes.
struct PushPullFrameDecoder: ByteToMessageDecoder {
    typealias InboundOut = ByteBuffer
    static let maxFrame = GossipCodec.maxStream + 64

    struct FrameTooLarge: Error {}

    mutating func decode(context: ChannelHandlerContext, buffer: inout ByteBuffer) throws -> DecodingState {
        guard let length = buffer.getInteger(at: buffer.readerIndex, as: UInt32.self) else { return .needMoreData }
        guard Int(length) <= Self.maxFrame else { throw FrameTooLarge() }
        guard buffer.readableBytes >= 4 + Int(length) else { return .needMoreData }
        buffer.moveReaderIndex(forwardBy: 4)
        context.fireChannelRead(wrapInboundOut(buffer.readSlice(length: Int(length))!))
        return .continue
    }
}
