import BundlecastCore
import Policy

/// The gate every notice passes before a node stores it or gossips it on, whoever sent it
/// (the origin, a peer, the admin API): ``NoticeGate``, the rule the origin and the simulator
/// apply too. Whether it is newer than what the node holds is the store's check, made in the
/// same transaction that records it.
public typealias NoticeIntake = NoticeGate

extension NoticeGate {
    /// The keys as rotated.
    public init(keys: PublisherKeys) {
        self.init(key: { keys.key($0) }, retirement: { keys.retirement($0, $1) })
    }
}
