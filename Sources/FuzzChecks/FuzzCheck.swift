import BundlecastCore
import Gossip
import TransferWire

/// The properties the fuzz targets in `Fuzz/` hold untrusted input to, shared with the unit test
/// that replays the seeds and every input a fuzzer ever crashed on (`Fuzz/Seeds`,
/// `Fuzz/Regressions`). A decoder must refuse bad input with an error, never trap; what it
/// accepts must come back unchanged through its encoder. The state-machine checks
/// (`swimSequence`, `swarmEvents`, `intake`, `manifestInstall`) go past the decoders: they read
/// the input as a run of events (``FuzzInput``) and hold the machine to its promises after each.
public enum FuzzCheck: String, CaseIterable, Sendable {
    /// A gossip datagram (first byte even) or push-pull stream frame (odd), then the bytes.
    case gossipPacket
    /// A transfer frame: type byte and payload, after the length prefix.
    case transferFrame
    case manifest
    case notice
    /// An origin's signed timestamp (from gossip or the origin), checked against the key that signed the seeds.
    case timestamp
    /// Gossip messages, time and commands into one ``Gossip/SWIMMembership`` (``SwimSequenceCheck``).
    case swimSequence
    /// Transfer events into one download's ``Swarm/SwarmPlanner`` (``SwarmEventsCheck``).
    case swarmEvents
    /// Rotation statements and notices against a pinned key (``IntakeCheck``).
    case intake
    /// A manifest parsed and laid out in a sandbox (``ManifestInstallCheck``).
    case manifestInstall

    public struct Outcome: Sendable, Equatable {
        /// Whether the decoder accepted the input (for a state-machine check: whether the run
        /// reached the machine, e.g. a message got through the codec).
        public var decoded: Bool
        /// A broken property, if any (the fuzz target traps on it).
        public var failure: String?
    }

    public func run(_ input: [UInt8]) -> Outcome {
        switch self {
        case .gossipPacket:
            guard let mode = input.first else { return Outcome(decoded: false) }
            let bytes = Array(input.dropFirst())
            if mode & 1 == 0 {
                guard let m = try? GossipCodec.decodeDatagram(bytes) else { return Outcome(decoded: false) }
                let again = try? GossipCodec.decodeDatagram(GossipCodec.encodeDatagram(m))
                return Outcome(decoded: true, failure: again == m ? nil : "datagram does not survive a round trip: \(m)")
            }
            guard let m = try? GossipCodec.decodeStream(bytes) else { return Outcome(decoded: false) }
            let again = try? GossipCodec.decodeStream(GossipCodec.encodeStream(m))
            return Outcome(decoded: true, failure: again == m ? nil : "stream frame does not survive a round trip: \(m)")
        case .transferFrame:
            guard let frame = try? TransferFrame(decoding: input) else { return Outcome(decoded: false) }
            if frame.encoded() != input { return Outcome(decoded: true, failure: "frame does not re-encode to its bytes: \(frame)") }
            if input.count > TransferFrame.maxLength(type: input[0], stage: .proven) {
                return Outcome(decoded: true, failure: "a frame of \(input.count) bytes, over the limit, decoded")
            }
            return Outcome(decoded: true)
        case .manifest:
            guard let manifest = try? ManifestCoder.decode(input) else { return Outcome(decoded: false) }
            return Outcome(decoded: true, failure: manifest.encoded() == input ? nil : "a manifest that is not canonical parsed")
        case .notice:
            guard let signed = try? SignedNotice(bytes: input) else { return Outcome(decoded: false) }
            _ = try? signed.verify(with: Self.key)
            return Outcome(decoded: true, failure: signed.bytes == input ? nil : "a notice that is not canonical parsed")
        case .timestamp:
            guard let stamp = try? SignedTimestamp(bytes: input) else { return Outcome(decoded: false) }
            _ = stamp.isSigned(by: Self.originKey)
            return Outcome(decoded: true, failure: stamp.bytes == input ? nil : "a timestamp that is not canonical parsed")
        case .swimSequence:
            return SwimSequenceCheck.run(input)
        case .swarmEvents:
            return SwarmEventsCheck.run(input)
        case .intake:
            return IntakeCheck.run(input)
        case .manifestInstall:
            return ManifestInstallCheck.run(input)
        }
    }

    /// A key to verify fuzzed notices against (the test-only demo key).
    static let key = try! PublicKey(base64: "RWT6UvrJTLePib/7sjMziWWgMDZm04jnbYU6XyY4oXqkJTlWdPgsx10W")
    /// The origin key that signed the timestamp seeds (its secret key was not kept).
    static let originKey = try! PublicKey(base64: "RWR3BVk3tyHhfo1G0ubsIA0UQIsQ/5TSNixoFnBjt9MIP+LWE0Iy9i/3")
}

extension FuzzCheck.Outcome {
    init(decoded: Bool) { self.init(decoded: decoded, failure: nil) }
}
