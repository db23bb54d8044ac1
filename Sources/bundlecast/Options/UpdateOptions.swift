import ArgumentParser
import BundlecastCore
import Node

/// What the node follows and how it installs.
struct UpdateOptions: ParsableArguments {
    static let defaultStagger = Span(seconds: 2)
    static let defaultOnInstallTimeout = Span(seconds: 60)
    /// A stagger beyond a day is a typo, not a policy.
    static let staggerRange = Span(seconds: 0)...Span(seconds: 86_400)

    @Option(help: "The channel this node follows.")
    var channel = "stable"

    @Option(help: "This node's zone: shown in status; peers in the same zone are preferred for transfers.")
    var zone: String?

    @Option(help: .withDefault("Wait a random time up to this before a download starts (0s, 2s, 5m...).", valueName: "duration", UpdateOptions.defaultStagger),
            transform: Span.parser(UpdateOptions.staggerRange))
    var stagger = UpdateOptions.defaultStagger

    @Option(help: ArgumentHelp("Health check after each install, run with /bin/sh -c and BUNDLECAST_APP, BUNDLECAST_VERSION, BUNDLECAST_PATH, BUNDLECAST_PREVIOUS_VERSION set; a failure rolls back.", valueName: "command"))
    var onInstall: String?

    @Option(help: .withDefault("How long the health check may run.", valueName: "duration", UpdateOptions.defaultOnInstallTimeout),
            transform: Span.parser(Span.positive))
    var onInstallTimeout = UpdateOptions.defaultOnInstallTimeout

    @Flag(help: "Hold and serve releases, never install them. It super-seeds: while its link is busy (its --max-upload-rate, or without one the kernel's socket back-pressure), a chunk it sent to one peer is refused to others for 5 s, so its upload goes to chunks the fleet lacks.")
    var seedOnly = false

    func validate() throws {
        // Peers take a member's metadata holding a control character for none at all.
        if let zone, zone.isEmpty || PrintableText.holdsControls(zone) || zone.utf8.count > 64 {
            throw ValidationError("--zone must be 1 to 64 bytes with no control characters (got \(PrintableText.excerpt(zone)))")
        }
    }

    /// The updater's settings; the download cap is one of them.
    func settings(maxDownloadRate: ByteRate?) throws -> Updater.Settings {
        try Identifier.validateChannel(channel)
        var settings = Updater.Settings()
        settings.channel = channel
        settings.zone = zone
        settings.stagger = stagger.duration
        settings.onInstall = onInstall
        settings.onInstallTimeout = onInstallTimeout.duration
        settings.seedOnly = seedOnly
        settings.maxDownloadRate = maxDownloadRate?.bytesPerSecond
        return settings
    }
}
