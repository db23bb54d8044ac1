/// What a publisher says when it replaces an app's signing key: from epoch
/// `epoch` on, the key `newKey` signs the app's notices instead of the key
/// with id `oldKeyID`, and the last notice the old key legitimately signed had
/// sequence `floor`.
///
/// Grammar, format version 1: one line, these `key=value` pairs in this
/// order, one space apart:
/// ```
/// bundlecast=1 kind=rotate app=APP epoch=N old=KEYID new=KEYID newkey=BASE64 floor=N created=UNIX
/// ```
/// `epoch` counts rotations (the key first pinned is epoch 0, so a statement's
/// epoch is at least 1); key ids are 16 upper-case hex digits as minisign
/// prints them; `newkey` is the canonical base64 of the new minisign public
/// key (`"Ed" || key id || Ed25519 key`), whose key id must be `new`, and
/// `new` must differ from `old`. `floor` (at most 2^63-1) is where the sequence
/// stands once the rotation is accepted: whatever the old key signed above it is
/// dropped, so a thief who signed a notice at 2^63-1 with a stolen key cannot keep
/// the new key's notices out as stale. Anything else is refused.
public struct RotationStatement: Hashable, Sendable, CustomStringConvertible {
    public let app: String
    /// 1 for the first rotation, then one more per rotation.
    public let epoch: UInt64
    public let oldKeyID: KeyID
    public let newKey: PublicKey
    /// The highest sequence the old key signed that still counts; origin and nodes lower
    /// every accepted sequence of the app to at most this when they accept the rotation.
    public let floor: UInt64
    /// Unix seconds; informative (rotations are ordered by epoch, never by time).
    public let created: UInt64

    public var newKeyID: KeyID { newKey.keyID }

    static let keys = ["bundlecast", "kind", "app", "epoch", "old", "new", "newkey", "floor", "created"]
    static let prefix = "bundlecast=1 kind=rotate "
    /// SQLite integers are signed; epochs stay below 2^63.
    public static let maxEpoch = UInt64(Int64.max)
    /// Sequences are stored in SQLite too.
    public static let maxFloor = UInt64(Int64.max)

    public init(app: String, epoch: UInt64, oldKeyID: KeyID, newKey: PublicKey, floor: UInt64, created: UInt64) throws(RotationFormatError) {
        do { try Identifier.validateApp(app) } catch { throw RotationFormatError(error.description) }
        guard epoch >= 1 else { throw RotationFormatError("epoch must be at least 1 (epoch 0 is the key first pinned)") }
        guard epoch <= Self.maxEpoch else { throw RotationFormatError("epoch \(epoch) is above 2^63-1") }
        guard floor <= Self.maxFloor else { throw RotationFormatError("floor \(floor) is above 2^63-1") }
        guard oldKeyID != newKey.keyID else { throw RotationFormatError("the new key id is the old one (\(oldKeyID)): a rotation needs a new key") }
        self.app = app
        self.epoch = epoch
        self.oldKeyID = oldKeyID
        self.newKey = newKey
        self.floor = floor
        self.created = created
    }

    /// The statement line, without its line feed.
    public var description: String {
        "bundlecast=1 kind=rotate app=\(app) epoch=\(epoch) old=\(oldKeyID) new=\(newKey.keyID) newkey=\(newKey.base64) floor=\(floor) created=\(created)"
    }

    public init(line: String) throws(RotationFormatError) { try self.init(line: Substring(line)) }

    /// Parses the statement line strictly: re-encoding it must give the same text.
    public init(line: Substring) throws(RotationFormatError) {
        let pairs = line.split(separator: " ", omittingEmptySubsequences: false)
        guard pairs.count == Self.keys.count else {
            throw RotationFormatError("expected \(Self.keys.count) key=value pairs, found \(pairs.count)")
        }
        var values: [Substring] = []
        for (pair, key) in zip(pairs, Self.keys) {
            guard let eq = pair.firstIndex(of: "="), pair[..<eq] == key, pair.index(after: eq) < pair.endIndex else {
                throw RotationFormatError("expected \"\(key)=VALUE\" at \"\(pair.prefix(40))\"")
            }
            values.append(pair[pair.index(after: eq)...])
        }
        guard values[0] == "1" else { throw RotationFormatError("unsupported format bundlecast=\(values[0])") }
        guard values[1] == "rotate" else { throw RotationFormatError("kind is \(values[1]), not rotate") }
        guard let epoch = DecimalNumber.parse(values[3]) else { throw RotationFormatError("epoch is not a canonical decimal number") }
        guard let old = KeyID(text: values[4]) else { throw RotationFormatError("old is not a key id (16 upper-case hex digits)") }
        guard let new = KeyID(text: values[5]) else { throw RotationFormatError("new is not a key id (16 upper-case hex digits)") }
        let newKey: PublicKey
        do { newKey = try PublicKey(base64: String(values[6])) } catch {
            throw RotationFormatError("newkey is not a canonical minisign public key: \(error)")
        }
        guard newKey.keyID == new else { throw RotationFormatError("newkey has key id \(newKey.keyID), but new says \(new)") }
        guard let floor = DecimalNumber.parse(values[7]) else { throw RotationFormatError("floor is not a canonical decimal number") }
        guard let created = DecimalNumber.parse(values[8]) else { throw RotationFormatError("created is not a canonical decimal number") }
        try self.init(app: String(values[2]), epoch: epoch, oldKeyID: old, newKey: newKey, floor: floor, created: created)
        // Whatever slipped through the field checks (e.g. a non-canonical app) shows here.
        guard description.utf8.elementsEqual(line.utf8) else { throw RotationFormatError("not in canonical form") }
    }
}

/// Bytes that are not a rotation statement in its one canonical form.
public struct RotationFormatError: Error, Equatable, CustomStringConvertible {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { "not a valid Bundlecast rotation statement: \(message)" }
}
