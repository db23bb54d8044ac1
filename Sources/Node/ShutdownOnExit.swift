import ServiceLifecycle

/// A part of the node that was started before the group ran (its port and handle are
/// needed to wire the others): as a service it waits, then shuts the part down when the
/// group shuts down gracefully or is cancelled, so no path leaves it running.
struct ShutdownOnExit: Service, CustomStringConvertible {
    let description: String
    let shutdown: @Sendable () async -> Void

    init(_ name: String, shutdown: @escaping @Sendable () async -> Void) {
        description = name
        self.shutdown = shutdown
    }

    func run() async {
        // Returns on graceful shutdown, throws on cancellation: either way, shut down.
        try? await gracefulShutdown()
        await shutdown()
    }
}
