/// The gossip wire format, version 1: binary, big-endian, every length
/// checked before it is used. A datagram is at most ``maxDatagram`` bytes;
/// push-pull state travels in a TCP frame of at most ``maxStream`` bytes.
///
/// ```
/// magic "BG" | version 1 | type (u8) | fields of the type | count (u8) | updates
/// ping/ack/nack:  seq (u32) | from (16)
/// ping-req:       seq (u32) | from (16) | target address
/// gossip:         from (16)
/// push-pull:      from (16) | is-request (u8: 0/1)        (count is u16 here)
/// notice:         from (16) | length (u16) | .minisig bytes  (no updates, no count)
/// update:         kind (u8) | id (16) | incarnation (u64) | per kind:
///                 alive: address | metadata length (u16) | metadata;  suspect/dead: by (16);  left: nothing
/// address:        host length (u8, 1...255) | host (UTF-8) | port (u16)
/// ```
public enum GossipCodec {
    public static let maxDatagram = 1400
    public static let maxStream = 4 << 20
    static let magic: [UInt8] = [0x42, 0x47]  // "BG"
    static let version: UInt8 = 1

    enum MessageType: UInt8 {
        case ping = 1, ack, pingReq, nack, gossip, pushPull, notice
    }

    enum UpdateKind: UInt8 {
        case alive = 1, suspect, dead, left
    }

    // MARK: - Encoding

    /// Encodes a datagram; rumours that do not fit in ``maxDatagram`` are
    /// left out (they stay queued and go in a later message).
    public static func encodeDatagram(_ message: Message) -> [UInt8] {
        precondition({ if case .pushPull = message { return false }; return true }(), "push-pull goes over TCP")
        var out = header(message)
        if case .notice(_, let body) = message { return out + be(UInt16(body.count)) + body }
        let countIndex = out.count
        out.append(0)
        var count: UInt8 = 0
        for update in message.updates where count < UInt8.max {
            let bytes = encode(update)
            guard out.count + bytes.count <= maxDatagram else { continue }
            out += bytes
            count += 1
        }
        out[countIndex] = count
        return out
    }

    /// Encodes a push-pull message for a TCP frame (the caller adds the length): as many
    /// updates as fit in ``maxStream`` (the first ones first: a node puts its own first), so
    /// that a table grown by made-up members never makes a frame every peer refuses.
    public static func encodeStream(_ message: Message) -> [UInt8] {
        var out = header(message)
        let countIndex = out.count
        out += [0, 0]
        var count = 0
        for update in message.updates where count < Int(UInt16.max) {
            let bytes = encode(update)
            guard out.count + bytes.count <= maxStream else { break }
            out += bytes
            count += 1
        }
        out[countIndex] = UInt8(count >> 8)
        out[countIndex + 1] = UInt8(count & 0xFF)
        return out
    }

    private static func header(_ message: Message) -> [UInt8] {
        var out = magic + [version]
        switch message {
        case .ping(let seq, let from, _): out += [MessageType.ping.rawValue] + be(seq) + id(from)
        case .ack(let seq, let from, _): out += [MessageType.ack.rawValue] + be(seq) + id(from)
        case .nack(let seq, let from, _): out += [MessageType.nack.rawValue] + be(seq) + id(from)
        case .pingReq(let seq, let from, let target, _): out += [MessageType.pingReq.rawValue] + be(seq) + id(from) + address(target)
        case .gossip(let from, _): out += [MessageType.gossip.rawValue] + id(from)
        case .pushPull(let from, let isRequest, _): out += [MessageType.pushPull.rawValue] + id(from) + [isRequest ? 1 : 0]
        case .notice(let from, _): out += [MessageType.notice.rawValue] + id(from)
        }
        return out
    }

    static func encode(_ update: Update) -> [UInt8] {
        switch update {
        case .alive(let i, let inc, let addr, let meta):
            return [UpdateKind.alive.rawValue] + id(i) + be(inc) + address(addr) + be(UInt16(meta.count)) + meta
        case .suspect(let i, let inc, let by): return [UpdateKind.suspect.rawValue] + id(i) + be(inc) + id(by)
        case .dead(let i, let inc, let by): return [UpdateKind.dead.rawValue] + id(i) + be(inc) + id(by)
        case .left(let i, let inc): return [UpdateKind.left.rawValue] + id(i) + be(inc)
        }
    }

    private static func be<T: FixedWidthInteger>(_ v: T) -> [UInt8] {
        (0..<T.bitWidth / 8).reversed().map { UInt8(truncatingIfNeeded: v >> ($0 * 8)) }
    }

    private static func id(_ n: NodeID) -> [UInt8] { be(n.high) + be(n.low) }

    private static func address(_ a: PeerAddress) -> [UInt8] {
        let host = Array(a.host.utf8.prefix(255))
        return [UInt8(host.count)] + host + be(a.port)
    }

    // MARK: - Decoding

    /// Decodes a datagram: `bytes` is what was received into a buffer larger
    /// than the limit, so an oversized datagram is seen whole and refused.
    public static func decodeDatagram(_ bytes: [UInt8]) throws(GossipWireError) -> Message {
        guard bytes.count <= maxDatagram else { throw .oversized(bytes.count) }
        var reader = Reader(bytes: bytes)
        let message = try decodeMessage(&reader, stream: false)
        guard reader.atEnd else { throw .trailingBytes }
        return message
    }

    /// Decodes a push-pull frame's payload.
    public static func decodeStream(_ bytes: [UInt8]) throws(GossipWireError) -> Message {
        guard bytes.count <= maxStream else { throw .oversized(bytes.count) }
        var reader = Reader(bytes: bytes)
        let message = try decodeMessage(&reader, stream: true)
        guard case .pushPull = message else { throw .unexpectedType }
        guard reader.atEnd else { throw .trailingBytes }
        return message
    }

    private static func decodeMessage(_ r: inout Reader, stream: Bool) throws(GossipWireError) -> Message {
        guard try r.bytes(2) == magic else { throw .badMagic }
        let v = try r.u8()
        guard v == version else { throw .unsupportedVersion(v) }
        guard let type = MessageType(rawValue: try r.u8()) else { throw .unexpectedType }
        guard (type == .pushPull) == stream else { throw .unexpectedType }
        func updates(_ r: inout Reader, count: Int) throws(GossipWireError) -> [Update] {
            var out: [Update] = []
            for _ in 0..<count { out.append(try decodeUpdate(&r)) }
            return out
        }
        switch type {
        case .ping, .ack, .nack:
            let seq = try r.u32()
            let from = try r.nodeID()
            let u = try updates(&r, count: Int(try r.u8()))
            switch type {
            case .ping: return .ping(seq: seq, from: from, updates: u)
            case .ack: return .ack(seq: seq, from: from, updates: u)
            default: return .nack(seq: seq, from: from, updates: u)
            }
        case .pingReq:
            let seq = try r.u32()
            let from = try r.nodeID()
            let target = try r.address()
            return .pingReq(seq: seq, from: from, target: target, updates: try updates(&r, count: Int(try r.u8())))
        case .gossip:
            let from = try r.nodeID()
            return .gossip(from: from, updates: try updates(&r, count: Int(try r.u8())))
        case .notice:
            let from = try r.nodeID()
            return .notice(from: from, body: try r.bytes(Int(try r.u16())))
        case .pushPull:
            let from = try r.nodeID()
            let flag = try r.u8()
            guard flag <= 1 else { throw .badField("is-request") }
            return .pushPull(from: from, isRequest: flag == 1, state: try updates(&r, count: Int(try r.u16())))
        }
    }

    private static func decodeUpdate(_ r: inout Reader) throws(GossipWireError) -> Update {
        guard let kind = UpdateKind(rawValue: try r.u8()) else { throw .badField("update kind") }
        let id = try r.nodeID()
        let incarnation = try r.u64()
        guard incarnation <= Update.maxIncarnation else { throw .badField("incarnation \(incarnation) above 2^62") }
        switch kind {
        case .alive:
            let address = try r.address()
            let length = Int(try r.u16())
            guard length <= Update.maxMetadataBytes else { throw .badField("metadata length \(length)") }
            return .alive(id: id, incarnation: incarnation, address: address, metadata: try r.bytes(length))
        case .suspect: return .suspect(id: id, incarnation: incarnation, by: try r.nodeID())
        case .dead: return .dead(id: id, incarnation: incarnation, by: try r.nodeID())
        case .left: return .left(id: id, incarnation: incarnation)
        }
    }
}

/// Why a packet was dropped; each is counted by the shell.
public enum GossipWireError: Error, Equatable, Sendable {
    case oversized(Int)
    case truncated
    case trailingBytes
    case badMagic
    case unsupportedVersion(UInt8)
    case unexpectedType
    case badField(String)
}

/// Bounds-checked reading: every read checks the remaining length first.
struct Reader {
    let bytes: [UInt8]
    var offset = 0

    var atEnd: Bool { offset == bytes.count }

    mutating func bytes(_ n: Int) throws(GossipWireError) -> [UInt8] {
        guard n >= 0, bytes.count - offset >= n else { throw .truncated }
        defer { offset += n }
        return Array(bytes[offset..<offset + n])
    }

    mutating func u8() throws(GossipWireError) -> UInt8 { try bytes(1)[0] }
    mutating func u16() throws(GossipWireError) -> UInt16 { UInt16(try uint(2)) }
    mutating func u32() throws(GossipWireError) -> UInt32 { UInt32(try uint(4)) }
    mutating func u64() throws(GossipWireError) -> UInt64 { try uint(8) }

    private mutating func uint(_ n: Int) throws(GossipWireError) -> UInt64 {
        try bytes(n).reduce(0) { $0 << 8 | UInt64($1) }
    }

    mutating func nodeID() throws(GossipWireError) -> NodeID { NodeID(high: try u64(), low: try u64()) }

    private static func isHostByte(_ b: UInt8) -> Bool {
        switch b {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"): true
        case UInt8(ascii: "."), UInt8(ascii: "-"), UInt8(ascii: ":"), UInt8(ascii: "_"), UInt8(ascii: "%"), UInt8(ascii: "["), UInt8(ascii: "]"): true
        default: false
        }
    }

    mutating func address() throws(GossipWireError) -> PeerAddress {
        let length = Int(try u8())
        guard length > 0 else { throw .badField("empty host") }
        let raw = try bytes(length)
        // An IP literal or a host name (IPv6 with brackets and a zone): nothing else reaches
        // a socket, and a control byte here would end up on an operator's terminal (status).
        guard raw.allSatisfy(Self.isHostByte), let host = String(validating: raw, as: UTF8.self) else { throw .badField("host not an address") }
        // No member listens on port 0, and a send there fails: refused with the packet.
        let port = try u16()
        guard port > 0 else { throw .badField("port 0") }
        return PeerAddress(host: host, port: port)
    }
}
