/// An operator's rollback: the version kept before the current one becomes current
/// again and is held there until a newer notice.
extension UpdatePolicy {
    /// A rollback that may go ahead, from `from` to `to`.
    public struct Rollback: Equatable, Sendable {
        public let from: InstallRecord.Installed
        public let to: InstallRecord.Installed
        let record: InstallRecord

        /// The record once `to` is current: the two versions swap places, and the
        /// newest accepted notice's sequence (or, with none, the sequence `from` came
        /// under) becomes the hold, so only a notice after it moves the app again.
        public func record(holdingAt newestSequence: UInt64?) -> InstallRecord {
            var record = record
            record.current = to
            record.previous = from
            record.holdSequence = newestSequence ?? from.sequence
            return record
        }
    }

    /// Why an operator's rollback cannot be done.
    public enum RollbackRefusal: Error, Equatable, Sendable {
        case notInstalled
        /// Only one version is kept on the node.
        case nothingKept
        /// The operator named a version that is not the one kept.
        case notKept(requested: String, current: String, previous: String)
    }

    /// Whether `record` can go back to its previous version (to `requested`, when named:
    /// it must be that version, the only one kept).
    public static func rollback(_ record: InstallRecord, to requested: String?) -> Result<Rollback, RollbackRefusal> {
        guard let current = record.current else { return .failure(.notInstalled) }
        guard let previous = record.previous else { return .failure(.nothingKept) }
        if let requested, requested != previous.version {
            return .failure(.notKept(requested: requested, current: current.version, previous: previous.version))
        }
        return .success(Rollback(from: current, to: previous, record: record))
    }
}
