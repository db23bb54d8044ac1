import BundlecastCore

/// How an origin runs. Every field has the default a production origin wants.
public struct OriginSettings: Sendable {
    /// Address to listen on; port 0 picks a free port (written to the ready file).
    public var host = "127.0.0.1"
    public var port = 7300
    /// The SQLite database (created if missing).
    public var databasePath: String
    /// Where the ports are written once the origin serves; default `ready.json`
    /// beside the database.
    public var readyFile: String?
    /// Largest notice body accepted (413 above).
    public var maxBodyBytes = 64 << 10
    /// Longest long-poll a client may ask for, in seconds.
    public var maxWaitSeconds = 60
    /// A connection with nothing being answered and nothing read for this long is closed
    /// (``ConnectionGuard``): idle keep-alive connections and half-sent requests do not
    /// hold descriptors. A long-poll being answered is bounded by its own wait instead.
    public var idleTimeoutSeconds: UInt64 = 75
    /// `Cache-Control: max-age` of `latest` answers, in seconds: how stale an
    /// HTTP cache or CDN in front of the origin may serve them.
    public var cacheMaxAge = 5
    /// The origin's own key (`--key`): with it the origin signs timestamps of the newest
    /// sequence per app and channel, so nodes can tell when they are kept on old notices.
    public var signingKey: SecretKey?
    /// Seconds an origin timestamp is valid (re-signed after half of it).
    public var timestampValidity: UInt64 = 3600
    /// The longest `timestampValidity` taken (30 days; longer is cut to it): a freshness
    /// timestamp is meant to be short-lived, and its expiry must not overflow.
    public static let maxTimestampValidity: UInt64 = 30 * 86_400

    public init(databasePath: String) { self.databasePath = databasePath }
}
