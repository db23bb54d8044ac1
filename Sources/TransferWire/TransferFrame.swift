import BundlecastCore
import Gossip

/// One frame of the transfer protocol (TCP; see docs/swarm.md). On the
/// wire: u32 big-endian length of what follows, a type byte, the payload.
/// Both ends may ask and answer on the same connection, so a node that can
/// only dial out still uploads over the connections it opened.
public enum TransferFrame: Equatable, Sendable {
    /// First frame each way: protocol version, the sender's node id, the Ed25519 public key
    /// it derives from (``NodeIdentity``), and a fresh 32-byte nonce for the other side to sign.
    case hello(version: UInt8, node: NodeID, key: [UInt8], nonce: [UInt8])
    /// Second frame each way: the sender's signature over both nonces and both ids
    /// (``NodeIdentity/transcript(signerNonce:verifierNonce:signer:verifier:)``). Nothing else
    /// is read from a peer before its proof verifies.
    case proof([UInt8])
    /// "Send me the manifest with this digest."
    case getManifest(Digest256)
    case manifest(Digest256, [UInt8])
    /// "Which chunks of this manifest do you hold?"
    case haveQuery(Digest256)
    /// Answer: one bit per distinct chunk of the manifest (first-appearance order), LSB first.
    case have(Digest256, count: UInt32, bits: [UInt8])
    case request(Digest256)
    case chunk(Digest256, [UInt8])
    /// "I do not hold that" (a chunk or a manifest).
    case missing(Digest256)
    case cancel(Digest256)
    /// "I now hold this chunk", pushed to peers that asked for a have-set of a manifest that contains it.
    case has(Digest256)

    /// 2: hello carries a key and a nonce, and a proof follows it.
    public static let protocolVersion: UInt8 = 2
    /// A chunk frame carries at most one 256 KiB chunk; a manifest frame may be larger.
    public static let maxChunkFrame = ChunkingParameters.v1.maxSize + 64
    public static let maxFrame = 16 << 20

    /// Where a connection's handshake is, as its frame decoder counts frames: the peer's
    /// first frame is its hello, its second its proof, and only then is it a proven peer.
    public enum Stage: Sendable {
        case hello, proof, proven

        /// The stage of the peer's frame number `index` (from 0).
        public init(frameIndex index: Int) {
            self = index == 0 ? .hello : index == 1 ? .proof : .proven
        }
    }

    /// The longest frame (type byte and payload) a peer may send with this type byte:
    /// until its id is proven only a hello, then a proof, fits (a peer anyone can be
    /// holds no more of this node's memory than that); a manifest may be large, when one
    /// was asked for; anything else holds at most a chunk.
    public static func maxLength(type: UInt8, stage: Stage, manifestAsked: Bool = true) -> Int {
        switch stage {
        case .hello: helloLength
        case .proof: proofLength
        case .proven: type == Tag.manifest.rawValue && manifestAsked ? maxFrame : maxChunkFrame
        }
    }

    /// A hello's type byte and payload: version, id (16), key (32), nonce (32).
    public static let helloLength = 82
    /// A proof's type byte and Ed25519 signature (64).
    public static let proofLength = 65

    enum Tag: UInt8, Sendable {
        case hello = 1, getManifest, manifest, haveQuery, have, request, chunk, missing, cancel, has, proof
    }

    /// Payload with its type byte (the length prefix is added by the pipeline).
    public func encoded() -> [UInt8] {
        var out: [UInt8] = []
        func digest(_ d: Digest256) { out += d.bytes }
        switch self {
        case .hello(let version, let node, let key, let nonce):
            out = [Tag.hello.rawValue, version]
            for v in [node.high, node.low] { withUnsafeBytes(of: v.bigEndian) { out += $0 } }
            out += key + nonce
        case .proof(let signature): out = [Tag.proof.rawValue] + signature
        case .getManifest(let d): out = [Tag.getManifest.rawValue]; digest(d)
        case .manifest(let d, let bytes):
            out = [Tag.manifest.rawValue]; digest(d)
            out.reserveCapacity(33 + bytes.count)
            out += bytes
        case .haveQuery(let d): out = [Tag.haveQuery.rawValue]; digest(d)
        case .have(let d, let count, let bits):
            out = [Tag.have.rawValue]; digest(d)
            withUnsafeBytes(of: count.bigEndian) { out += $0 }
            out += bits
        case .request(let d): out = [Tag.request.rawValue]; digest(d)
        case .chunk(let d, let bytes):
            out.reserveCapacity(33 + bytes.count)
            out = [Tag.chunk.rawValue]; digest(d)
            out += bytes
        case .missing(let d): out = [Tag.missing.rawValue]; digest(d)
        case .cancel(let d): out = [Tag.cancel.rawValue]; digest(d)
        case .has(let d): out = [Tag.has.rawValue]; digest(d)
        }
        return out
    }

    /// Parses one frame's bytes (type byte first), checking every length.
    public init(decoding bytes: [UInt8]) throws(TransferFrameError) {
        let parsed = bytes.withUnsafeBytes { raw in Result { () throws(TransferFrameError) in try TransferFrame(decoding: raw) } }
        self = try parsed.get()
    }

    /// Parses one frame's bytes in place (type byte first), checking every length;
    /// a chunk or manifest payload is copied out once.
    public init(decoding bytes: UnsafeRawBufferPointer) throws(TransferFrameError) {
        guard let first = bytes.first, let tag = Tag(rawValue: first) else {
            throw TransferFrameError("unknown frame type \(bytes.first.map(String.init) ?? "(empty)")")
        }
        func digest(at offset: Int) throws(TransferFrameError) -> Digest256 {
            guard bytes.count >= offset + 32, let d = Digest256(UnsafeRawBufferPointer(rebasing: bytes[offset..<offset + 32])) else {
                throw TransferFrameError("\(tag) frame too short for a digest")
            }
            return d
        }
        func exactly(_ n: Int) throws(TransferFrameError) {
            guard bytes.count == n else { throw TransferFrameError("\(tag) frame is \(bytes.count) bytes, expected \(n)") }
        }
        func rest(from offset: Int) -> [UInt8] { Array(UnsafeRawBufferPointer(rebasing: bytes[offset...])) }
        switch tag {
        case .hello:
            try exactly(Self.helloLength)
            var high: UInt64 = 0, low: UInt64 = 0
            for i in 2..<10 { high = high << 8 | UInt64(bytes[i]) }
            for i in 10..<18 { low = low << 8 | UInt64(bytes[i]) }
            self = .hello(version: bytes[1], node: NodeID(high: high, low: low), key: rest(from: 18).prefix(32).map { $0 }, nonce: rest(from: 50))
        case .proof:
            try exactly(Self.proofLength)
            self = .proof(rest(from: 1))
        case .getManifest: try exactly(33); self = .getManifest(try digest(at: 1))
        case .manifest:
            let d = try digest(at: 1)
            guard bytes.count > 33 else { throw TransferFrameError("empty manifest frame") }
            self = .manifest(d, rest(from: 33))
        case .haveQuery: try exactly(33); self = .haveQuery(try digest(at: 1))
        case .have:
            let d = try digest(at: 1)
            guard bytes.count >= 37 else { throw TransferFrameError("have frame too short") }
            let count = bytes[33..<37].reduce(UInt32(0)) { $0 << 8 | UInt32($1) }
            guard bytes.count == 37 + (Int(count) + 7) / 8 else {
                throw TransferFrameError("have frame: \(bytes.count - 37) bitfield bytes for \(count) chunks")
            }
            self = .have(d, count: count, bits: rest(from: 37))
        case .request: try exactly(33); self = .request(try digest(at: 1))
        case .chunk:
            let d = try digest(at: 1)
            guard bytes.count > 33, bytes.count - 33 <= ChunkingParameters.v1.maxSize else {
                throw TransferFrameError("chunk frame with \(bytes.count - 33) bytes of chunk")
            }
            self = .chunk(d, rest(from: 33))
        case .missing: try exactly(33); self = .missing(try digest(at: 1))
        case .cancel: try exactly(33); self = .cancel(try digest(at: 1))
        case .has: try exactly(33); self = .has(try digest(at: 1))
        }
    }

    /// The first 33 bytes of a chunk frame (type byte and digest): the chunk's bytes follow.
    /// Lets a sender read a chunk from disk straight into the frame's buffer.
    public static func chunkHeader(_ digest: Digest256) -> [UInt8] {
        [Tag.chunk.rawValue] + digest.bytes
    }

    /// Bits for a presence list.
    public static func bitfield(_ present: [Bool]) -> [UInt8] {
        var bits = [UInt8](repeating: 0, count: (present.count + 7) / 8)
        for (i, p) in present.enumerated() where p { bits[i / 8] |= 1 << UInt8(i % 8) }
        return bits
    }

    /// Presence list of `count` entries from bits. Bits the array does not hold count as
    /// absent (and a negative count gives none): the count may come from a peer, so a short
    /// bitfield must never index past its end.
    public static func presence(_ bits: [UInt8], count: Int) -> [Bool] {
        (0..<max(0, count)).map { $0 / 8 < bits.count && bits[$0 / 8] & (1 << UInt8($0 % 8)) != 0 }
    }
}

/// The transfer side could not do what was asked (listen, reach a peer), and why.
public struct TransferError: Error, Equatable, CustomStringConvertible {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

/// A transfer frame that breaks the protocol; the connection is closed.
public struct TransferFrameError: Error, Equatable, CustomStringConvertible {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { "bad transfer frame: \(message)" }
}
