import Gossip
import ServiceLifecycle

/// What taking in a signed thing asks of parts of the node built after the intake (the
/// updater needs gossip, which needs the intake): sent on a stream given to ``SignedIntake``
/// at construction and passed on by ``NodeSignalRelay``.
enum IntakeSignal: Sendable, Equatable {
    /// A notice or rotation for this app was accepted: the updater looks at it now.
    case wake(app: String)
    /// A notice named a key this node does not know: perhaps a rotation it missed, to ask the origin for.
    case syncRotations(app: String)
}

extension SignedIntake {
    /// Starts the updater on an app.
    func wake(_ app: String) { signals.yield(.wake(app: app)) }
    /// Asks the origin for rotations (a notice named a key this node does not know).
    func requestSync(_ app: String) { signals.yield(.syncRotations(app: app)) }
}

/// Passes the node's own events to their consumers, which are built after their sources:
/// metadata changes to gossip, intake signals to the updater and the origin's rotation sync.
/// Ends at graceful shutdown.
struct NodeSignalRelay: Service {
    let metadata: AsyncStream<NodeMetadata>
    let intake: AsyncStream<IntakeSignal>
    let gossip: GossipRuntime
    let updater: Updater
    let originSync: OriginRotationSync?

    func run() async {
        await withDiscardingTaskGroup { group in
            group.addTask {
                // Gossip started with the metadata as it was then: the same again is no news.
                var last = gossip.me.metadata
                for await change in metadata.cancelOnGracefulShutdown() {
                    let encoded = change.encoded()
                    guard encoded != last else { continue }
                    last = encoded
                    gossip.setMetadata(encoded)
                }
            }
            group.addTask {
                for await signal in intake.cancelOnGracefulShutdown() {
                    switch signal {
                    case .wake(let app): updater.wake(app)
                    case .syncRotations(let app): originSync?.request(app)
                    }
                }
            }
        }
    }
}
