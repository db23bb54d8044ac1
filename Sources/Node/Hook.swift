import Synchronization

/// A callback wired after construction (to break a construction cycle) and
/// called on hot paths.
///
/// The closure sits inside a struct, never directly in the `Mutex`: a bare
/// closure in a `Mutex` is re-abstracted on every `withLock` and written
/// back, gaining two thunks per access, so each call gets slower than the
/// last (measured: 80% of a node's CPU after a few thousand transfer frames).
final class Hook<Argument>: Sendable {
    private struct Box: Sendable {
        let call: @Sendable (Argument) -> Void
    }

    private let slot = Mutex<Box?>(nil)

    init() {}

    func set(_ call: @escaping @Sendable (Argument) -> Void) { slot.withLock { $0 = Box(call: call) } }

    func callAsFunction(_ argument: Argument) {
        slot.withLock { $0 }?.call(argument)
    }
}
