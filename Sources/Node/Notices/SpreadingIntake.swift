import BundlecastCore

/// "Accept, then spread" for signed bytes that reach this node outside gossip (from the admin
/// API or the origin): whatever the intake accepts as news is passed on to the fleet by gossip,
/// so every way in checks first and spreads the same things. (Bytes gossip brought are spread
/// by gossip itself once accepted.)
struct SpreadingIntake: Sendable {
    let intake: SignedIntake
    /// Starts spreading bytes by gossip.
    let spread: @Sendable ([UInt8]) -> Void

    /// Spreads `body` when `result` (its check by the intake) is a success `isNews` calls new to this node.
    func accept<Value, Refusal: Error>(_ body: [UInt8], _ result: Result<Value, Refusal>,
                                       isNews: (Value) -> Bool = { _ in true }) -> Result<Value, Refusal> {
        if case .success(let value) = result, isNews(value) { spread(body) }
        return result
    }

    /// A notice: spread when accepted (a notice already held is refused as stale).
    func notice(_ body: [UInt8], _ source: String) -> Result<SignedNotice, NoticeIntake.Refusal> {
        accept(body, intake.notice(body, source))
    }

    /// A rotation statement: spread when it moved a key on, not when the key was already known.
    func rotation(_ body: [UInt8], _ source: String) -> Result<PublisherKeys.Acceptance, RotationRefusal> {
        accept(body, intake.rotation(body, source)) { $0.change != .known }
    }

    /// An origin timestamp: spread when it was new and valid.
    func timestamp(_ body: [UInt8], _ source: String) -> Result<SignedTimestamp, OriginTimestamps.Refusal> {
        accept(body, intake.timestamp(body, source))
    }
}
