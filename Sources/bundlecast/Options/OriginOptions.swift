import ArgumentParser
import BundlecastCore
import Foundation
import Node

/// The origin as a backstop, and its freshness timestamps.
struct OriginOptions: ParsableArguments {
    static let defaultFreshnessThreshold = Span(seconds: 3600)

    @Option(help: ArgumentHelp("Long-poll this origin as a backstop to gossip (http://HOST:PORT).", valueName: "url"),
            transform: OriginOptions.url)
    var origin: URL?

    @Option(help: ArgumentHelp("The origin's own public key: check its signed freshness timestamps (see --freshness-threshold).", valueName: "file"))
    var originKey: String?

    @Option(help: .withDefault("With --origin-key: status reports freshness unconfirmed when the newest origin timestamp is older than this.", valueName: "duration", OriginOptions.defaultFreshnessThreshold),
            transform: Span.parser(Span.positive))
    var freshnessThreshold = OriginOptions.defaultFreshnessThreshold

    static func url(_ text: String) throws -> URL {
        guard let url = URL(string: text), url.scheme == "http" || url.scheme == "https", url.host != nil else {
            throw ArgumentError("\"\(text)\" is not an http:// URL")
        }
        // The origin serves public, signed notices; a password in the URL would go to every
        // host a redirect names.
        guard url.user == nil, url.password == nil else {
            throw ArgumentError("--origin carries a user name or password: an origin serves public, signed notices, and a command line is no place for secrets")
        }
        return url
    }

    /// The origin's settings; its key must not be one of the publishers' (`trusted`).
    func settings(trusted: [String: PublicKey]) throws -> NodeService.OriginSettings {
        var settings = NodeService.OriginSettings()
        settings.url = origin
        settings.freshnessThreshold = freshnessThreshold.seconds
        if let originKey {
            let key = try loadPublicKey(originKey)
            if trusted.values.contains(where: { $0.keyID == key.keyID }) {
                throw Failure("--origin-key \(originKey) is a publisher's key (\(key.keyID)): pin the origin's own key (the .pub of the origin's --key)")
            }
            settings.key = key
        }
        return settings
    }
}
