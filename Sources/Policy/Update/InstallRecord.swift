import BundlecastCore

/// What a node has installed of one app, and the decisions about it that must
/// survive a restart (the node keeps it in SQLite; ``UpdatePolicy`` reads it and
/// says what it becomes).
public struct InstallRecord: Equatable, Sendable {
    public struct Installed: Equatable, Sendable {
        public var version: String
        public var manifest: Digest256
        /// The sequence of the notice it was installed under.
        public var sequence: UInt64
        public init(version: String, manifest: Digest256, sequence: UInt64) {
            self.version = version
            self.manifest = manifest
            self.sequence = sequence
        }
    }

    public var current: Installed?
    public var previous: Installed?
    /// A manifest whose install failed; not tried again until a notice with a
    /// higher sequence than `failedSequence` names it.
    public var failedVersion: String?
    public var failedManifest: Digest256?
    public var failedSequence: UInt64?
    public var failedReason: String?
    /// An operator's rollback holds `current` until a notice with a higher sequence arrives.
    public var holdSequence: UInt64?

    public init() {}

    public init(current: Installed?, previous: Installed? = nil) {
        self.current = current
        self.previous = previous
    }
}
