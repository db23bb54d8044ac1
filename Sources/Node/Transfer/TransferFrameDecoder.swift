import NIOCore
import TransferWire

/// Transfer frames: a u32 length, then the frame. A length over the limit
/// closes the connection before any of it is buffered.
struct TransferFrameDecoder: ByteToMessageDecoder {
    typealias InboundOut = ByteBuffer
    struct FrameTooLarge: Error {}
    /// A manifest frame is allowed only while we wait for one we asked for.
    let connection: TransferConnection
    /// Frames decoded so far: until the peer's hello and proof are in, nothing bigger than
    /// they are is buffered (``TransferFrame/Stage``).
    var frames = 0

    mutating func decode(context: ChannelHandlerContext, buffer: inout ByteBuffer) throws -> DecodingState {
        guard let length = buffer.getInteger(at: buffer.readerIndex, as: UInt32.self) else { return .needMoreData }
        let type = buffer.getInteger(at: buffer.readerIndex + 4, as: UInt8.self)
        if length > 0 && type == nil { return .needMoreData }
        let limit = TransferFrame.maxLength(type: type ?? 0, stage: TransferFrame.Stage(frameIndex: frames), manifestAsked: connection.awaitsManifest)
        guard Int(length) <= limit else { throw FrameTooLarge() }
        guard buffer.readableBytes >= 4 + Int(length) else { return .needMoreData }
        if frames < 2 { frames += 1 }
        buffer.moveReaderIndex(forwardBy: 4)
        context.fireChannelRead(wrapInboundOut(buffer.readSlice(length: Int(length))!))
        return .continue
    }
}
