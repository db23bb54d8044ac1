/// The node's mirrors in status (`--mirror`): what each served and what it got wrong.
extension NodeStatus {
    public struct MirrorView: Codable, Sendable, Equatable {
        public var app: String
        public var url: String
        /// Chunks served that matched their digest, and their bytes.
        public var chunks: Int
        public var bytes: UInt64
        /// Manifests served that matched the notice's digest.
        public var manifests: Int
        /// Chunks and manifests refused because their bytes did not match their digest.
        public var wrongBytes: Int
        /// Answers refused because they broke the range rules.
        public var badAnswers: Int
        /// Requests without a usable answer (no connection, time-out, 5xx, 404).
        public var failures: Int
        /// Why the last answer not used was not used.
        public var lastProblem: String?
        /// Releases (first 16 hex digits of their manifest) the mirror is skipped for now.
        public var skippedFor: [String]
    }
}
