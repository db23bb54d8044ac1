import Synchronization

/// Room, node-wide, for manifest-sized frames being buffered (anything larger than a chunk
/// frame). A peer may send one only for a manifest this node asked it for, but the asks
/// are the node's to bound, not the peers': every holder a manifest fetch asks may answer
/// with up to 16 MiB and then drip the rest a byte a minute, and without this bound each
/// asked connection could hold that much of the node's memory at once. A frame takes its
/// room when its length is read and gives it back when it is whole or its connection goes
/// (closed if the frame takes over ``TransferConnection/largeFrameDeadline``); a peer whose
/// frame finds no room is closed, and the fetch asks another holder.
final class LargeFrameBudget: Sendable {
    /// Four largest manifests at once.
    static let defaultBytes = 4 * (4 + (16 << 20))
    let limit: Int
    private let used = Mutex(0)

    init(limit: Int = LargeFrameBudget.defaultBytes) { self.limit = limit }

    /// Takes room for `bytes`; false (nothing taken) when it does not fit.
    func take(_ bytes: Int) -> Bool {
        used.withLock { u in
            guard bytes <= limit - u else { return false }
            u += bytes
            return true
        }
    }

    func give(_ bytes: Int) { used.withLock { $0 -= bytes } }

    /// Bytes taken now (for tests).
    var inUse: Int { used.withLock { $0 } }
}
