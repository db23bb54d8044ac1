import Hummingbird
import NIOCore

/// A request's context with the connection it came on: a long-poll ends when the
/// connection's client leaves (``ClientPresence``, told by ``ConnectionGuard``).
public struct OriginRequestContext: RequestContext {
    public var coreContext: CoreRequestContextStorage
    /// The connection, or nil when a test drives the router without one.
    public let channel: (any Channel)?

    public init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        channel = source.channel
    }
}
