import CSodium

/// Encrypted, authenticated transfer connections for a fleet with a fleet key.
///
/// Handshake: each side sends `"BCT1"` and a fresh X25519 public key (`crypto_kx`). The
/// `crypto_kx` session keys are then bound to the fleet key and to both public keys with
/// keyed BLAKE2b (`crypto_generichash`, key = fleet key), one key per direction. Each
/// direction is a libsodium `crypto_secretstream_xchacha20poly1305` stream: a 24-byte header,
/// then messages of `u32 length | ciphertext`. Without the fleet key the derived keys differ,
/// so the first message fails to open and the connection is dropped: a stranger can neither
/// read nor fetch, and a recorded session cannot be replayed (fresh ephemeral keys each time;
/// forward secrecy against a later theft of the fleet key).
public enum TransferCipher {
    public static let magic: [UInt8] = Array("BCT1".utf8)
    /// Magic and public key.
    public static let helloLength = 4 + 32
    public static let headerLength = Int(crypto_secretstream_xchacha20poly1305_HEADERBYTES)
    /// Bytes a message's ciphertext adds to its plaintext.
    public static let overhead = Int(crypto_secretstream_xchacha20poly1305_ABYTES)

    /// One side's ephemeral key pair for one connection.
    public final class Handshake {
        let publicKey: [UInt8]
        private var secretKey: [UInt8]
        let isClient: Bool

        public init(isClient: Bool) {
            Sodium.ready()
            var pk = [UInt8](repeating: 0, count: Int(crypto_kx_PUBLICKEYBYTES))
            var sk = [UInt8](repeating: 0, count: Int(crypto_kx_SECRETKEYBYTES))
            crypto_kx_keypair(&pk, &sk)
            publicKey = pk
            secretKey = sk
            self.isClient = isClient
        }

        deinit { Sodium.wipe(&secretKey) }

        /// What this side sends first.
        public var hello: [UInt8] { TransferCipher.magic + publicKey }

        /// The keys for sending and receiving, from the peer's hello; throws when it is not one.
        public func keys(peerHello: [UInt8], fleetKey: FleetKey) throws(TransferCipherError) -> (send: [UInt8], receive: [UInt8]) {
            guard peerHello.count == TransferCipher.helloLength, Array(peerHello.prefix(4)) == TransferCipher.magic else {
                throw TransferCipherError("not an encrypted transfer handshake (is the peer using the same --fleet-key?)")
            }
            let peer = Array(peerHello.dropFirst(4))
            var rx = [UInt8](repeating: 0, count: Int(crypto_kx_SESSIONKEYBYTES))
            var tx = [UInt8](repeating: 0, count: Int(crypto_kx_SESSIONKEYBYTES))
            let status = isClient
                ? crypto_kx_client_session_keys(&rx, &tx, publicKey, secretKey, peer)
                : crypto_kx_server_session_keys(&rx, &tx, publicKey, secretKey, peer)
            guard status == 0 else { throw TransferCipherError("the peer's handshake key is unusable") }
            let (client, server) = isClient ? (publicKey, peer) : (peer, publicKey)
            func bind(_ label: String, _ sessionKey: [UInt8]) -> [UInt8] {
                let input = Array(label.utf8) + sessionKey + client + server
                var out = [UInt8](repeating: 0, count: 32)
                crypto_generichash(&out, 32, input, UInt64(input.count), fleetKey.bytes, fleetKey.bytes.count)
                return out
            }
            // The client's tx is the server's rx: both name it client-to-server.
            let send = bind(isClient ? "bundlecast transfer c2s" : "bundlecast transfer s2c", tx)
            let receive = bind(isClient ? "bundlecast transfer s2c" : "bundlecast transfer c2s", rx)
            Sodium.wipe(&rx)
            Sodium.wipe(&tx)
            return (send, receive)
        }
    }

    /// The sending half of a connection.
    public struct Sender: Sendable {
        private var state = crypto_secretstream_xchacha20poly1305_state()
        /// To send before the first message.
        public let header: [UInt8]

        public init(key: [UInt8]) {
            Sodium.ready()
            var header = [UInt8](repeating: 0, count: TransferCipher.headerLength)
            crypto_secretstream_xchacha20poly1305_init_push(&state, &header, key)
            self.header = header
        }

        /// The ciphertext of one message (plaintext length + ``TransferCipher/overhead``).
        public mutating func seal(_ plaintext: UnsafeRawBufferPointer) -> [UInt8] {
            var out = [UInt8](repeating: 0, count: plaintext.count + TransferCipher.overhead)
            crypto_secretstream_xchacha20poly1305_push(
                &state, &out, nil, plaintext.baseAddress?.assumingMemoryBound(to: UInt8.self), UInt64(plaintext.count), nil, 0, 0)
            return out
        }
    }

    /// The receiving half of a connection.
    public struct Receiver: Sendable {
        private var state = crypto_secretstream_xchacha20poly1305_state()

        public init(key: [UInt8], header: [UInt8]) throws(TransferCipherError) {
            Sodium.ready()
            guard header.count == TransferCipher.headerLength,
                  crypto_secretstream_xchacha20poly1305_init_pull(&state, header, key) == 0 else {
                throw TransferCipherError("bad stream header")
            }
        }

        /// The plaintext of the next message; throws when it was not sealed by the peer with the
        /// shared key, in this order, unaltered.
        public mutating func open(_ ciphertext: [UInt8]) throws(TransferCipherError) -> [UInt8] {
            guard ciphertext.count >= TransferCipher.overhead else { throw TransferCipherError("message too short") }
            var out = [UInt8](repeating: 0, count: ciphertext.count - TransferCipher.overhead)
            var tag: UInt8 = 0
            guard crypto_secretstream_xchacha20poly1305_pull(&state, &out, nil, &tag, ciphertext, UInt64(ciphertext.count), nil, 0) == 0 else {
                throw TransferCipherError("a message does not authenticate (another fleet key, or altered on the way)")
            }
            return out
        }
    }
}

public struct TransferCipherError: Error, CustomStringConvertible, Equatable {
    public let description: String
    public init(_ description: String) { self.description = description }
}
