import NIOCore
import TransferWire

/// Transfer frames: a u32 length, then the frame. A length over the limit
/// closes the connection before any of it is buffered, and so does a manifest-sized frame
/// that finds no room node-wide (``LargeFrameBudget``).
struct TransferFrameDecoder: ByteToMessageDecoder {
    typealias InboundOut = ByteBuffer
    struct FrameTooLarge: Error {}
    struct NoRoomForLargeFrame: Error {}
    /// A manifest frame is allowed only while we wait for one we asked for.
    let connection: TransferConnection
    let largeFrames: LargeFrameBudget
    /// Room this connection holds in ``largeFrames`` for the frame being buffered.
    var reserved = 0
    /// Frames decoded so far: until the peer's hello and proof are in, nothing bigger than
    /// they are is buffered (``TransferFrame/Stage``).
    var frames = 0

    mutating func decode(context: ChannelHandlerContext, buffer: inout ByteBuffer) throws -> DecodingState {
        guard let length = buffer.getInteger(at: buffer.readerIndex, as: UInt32.self) else { return .needMoreData }
        let type = buffer.getInteger(at: buffer.readerIndex + 4, as: UInt8.self)
        if length > 0 && type == nil { return .needMoreData }
        let limit = TransferFrame.maxLength(type: type ?? 0, stage: TransferFrame.Stage(frameIndex: frames), manifestAsked: connection.awaitsManifest)
        // A frame already holding room goes on to its end though its ask has since left the
        // connection's list: it is bounded by that room, and by its deadline.
        guard reserved > 0 || Int(length) <= limit else { throw FrameTooLarge() }
        let whole = 4 + Int(length)
        guard buffer.readableBytes >= whole else {
            if Int(length) > TransferFrame.maxChunkFrame, reserved == 0 {
                guard largeFrames.take(whole) else { throw NoRoomForLargeFrame() }
                reserved = whole
                connection.largeFrame(since: NIODeadline.now().uptimeNanoseconds)
            }
            return .needMoreData
        }
        if frames < 2 { frames += 1 }
        buffer.moveReaderIndex(forwardBy: 4)
        let frame = buffer.readSlice(length: Int(length))!
        giveBack()
        context.fireChannelRead(wrapInboundOut(frame))
        return .continue
    }

    mutating func decoderRemoved(context: ChannelHandlerContext) { giveBack() }

    private mutating func giveBack() {
        guard reserved > 0 else { return }
        largeFrames.give(reserved)
        reserved = 0
        connection.largeFrame(since: nil)
    }
}
