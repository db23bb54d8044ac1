import ArgumentParser
import BundlecastCore
import Foundation
import Gossip
import Node
import Publisher

/// Where the node listens and whom it joins.
struct NetworkOptions: ParsableArguments {
    static let defaultGossip = HostPort(host: "127.0.0.1", port: 7946)
    static let defaultTransfer = HostPort(host: "127.0.0.1", port: 7948)

    @Option(help: .withDefault("UDP and TCP address for gossip, HOST:PORT (IP literal).", valueName: "host:port", NetworkOptions.defaultGossip),
            transform: HostPort.parse)
    var gossip = NetworkOptions.defaultGossip

    @Option(help: .withDefault("TCP address for transfers, HOST:PORT (IP literal); its port is gossiped.", valueName: "host:port", NetworkOptions.defaultTransfer),
            transform: HostPort.parse)
    var transfer = NetworkOptions.defaultTransfer

    @Option(help: ArgumentHelp("Address other members use to reach this node, when it differs from the bound one (a host name is resolved once, at start).", valueName: "host"))
    var advertise: String?

    @Option(help: ArgumentHelp("Members to join through, comma-separated HOST:PORT (host names are resolved once, at start).", valueName: "host:port,..."),
            transform: HostPortList.parse)
    var join: HostPortList?

    @Option(help: ArgumentHelp("Network threads (SwiftNIO event loops) for gossip, transfers and the admin API. One keeps a transfer's frames, `has` news and download planning on one thread, with no locks contended between threads; hashing and disk I/O run on other threads either way. More may help a node that serves many peers at high rates on a machine with cores to spare; that case was not measured.", valueName: "n"))
    var eventLoops = 1

    /// Gossip's bind address and the one it advertises (resolved now, once).
    func gossipSettings() throws -> GossipRuntime.Settings {
        var settings = GossipRuntime.Settings()
        settings.host = gossip.host
        settings.port = gossip.port
        settings.advertise = try advertise.map(HostResolver.ipLiteral)
        return settings
    }

    /// The members to join through, host names resolved now, once.
    func joinAddresses() throws -> [PeerAddress] {
        try (join?.addresses ?? []).map { PeerAddress(host: try HostResolver.ipLiteral($0.host), port: UInt16($0.port)) }
    }
}

/// Caps on what transfers may use.
struct TransferOptions: ParsableArguments {
    @Option(help: ArgumentHelp("Cap on upload bytes per second over all peers (e.g. 20M or 20MiB/s); none by default.", valueName: "rate"),
            transform: ByteRate.parse)
    var maxUploadRate: ByteRate?

    @Option(help: ArgumentHelp("Cap on download bytes per second (e.g. 50M or 50MiB/s); none by default.", valueName: "rate"),
            transform: ByteRate.parse)
    var maxDownloadRate: ByteRate?

    @Option(help: ArgumentHelp("Most disk the chunk store may use (e.g. 20G); a release that does not fit is refused with a clear error, not half fetched. None by default.", valueName: "size"),
            transform: ByteSize.parse)
    var maxStore: ByteSize?

    @Flag(help: ArgumentHelp("Test only: corrupt every chunk and manifest this node uploads.", visibility: .hidden))
    var testCorruptUploads = false

    @Flag(help: ArgumentHelp("Benchmarks only: serve upload requests in arrival order, not in turns per requester.", visibility: .hidden))
    var benchUploadsInArrivalOrder = false

    /// Where transfers listen (`address`) and how uploads are served.
    func settings(address: HostPort) -> TransferNode.Settings {
        var settings = TransferNode.Settings()
        settings.host = address.host
        settings.port = address.port
        settings.maxUploadRate = maxUploadRate?.bytesPerSecond
        settings.corruptUploads = testCorruptUploads
        settings.uploadsInTurns = !benchUploadsInArrivalOrder
        return settings
    }
}

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

    @Flag(help: "Hold and serve releases, never install them. With --max-upload-rate it super-seeds: a chunk it sent to one peer is refused to others for 5 s, so its upload goes to chunks the fleet lacks.")
    var seedOnly = false

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

/// The publisher keys the node pins, and the fleet key.
struct TrustOptions: ParsableArguments {
    @Option(help: ArgumentHelp("Pin an app's publisher key (repeatable). After a rotation the stored key wins over a --trust naming a retired one.", valueName: "app=key.pub"),
            transform: TrustFlag.parse)
    var trust: [TrustFlag] = []

    @Option(help: ArgumentHelp("Recovery when APP's current key is lost: pin its --trust key instead of the stored one, at epoch 0 of a new rotation chain (repeatable). No effect when --trust names the stored key or one the chain retired.", valueName: "app"))
    var repin: [String] = []

    @Option(help: ArgumentHelp("Authenticate gossip with this key (made by `bundlecast fleet-key`).", valueName: "file"))
    var fleetKey: String?

    /// The keys read from their files.
    func settings() throws -> NodeService.TrustSettings {
        var settings = NodeService.TrustSettings()
        for flag in trust { settings.trusted[flag.app] = try loadPublicKey(flag.keyPath) }
        for app in repin where settings.trusted[app] == nil {
            throw Failure("--repin \(app) needs --trust \(app)=KEY.pub: the key to pin")
        }
        settings.repin = Set(repin)
        return settings
    }

    func loadFleetKey() throws -> FleetKey? {
        guard let fleetKey else { return nil }
        let text = String(decoding: try PosixFile.readAll(fleetKey, limit: 4096), as: UTF8.self)
        do { return try FleetKey(fileText: text) } catch { throw Failure("\(fleetKey): \(error)") }
    }
}

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

/// The admin API's address and token.
struct AdminOptions: ParsableArguments {
    static let defaultAdmin = HostPort(host: "127.0.0.1", port: 7947)

    @Option(help: .withDefault("Admin API address, HOST:PORT (loopback by default).", valueName: "host:port", AdminOptions.defaultAdmin),
            transform: HostPort.parse)
    var admin = AdminOptions.defaultAdmin

    @Option(help: ArgumentHelp("Require this token (the file's first line) as `Authorization: Bearer` on the admin API; needed when --admin is not loopback. Clients send $BUNDLECAST_ADMIN_TOKEN.", valueName: "file"))
    var adminToken: String?

    /// The address and the token read from its file; a non-loopback address needs one.
    func settings() throws -> NodeService.AdminSettings {
        var settings = NodeService.AdminSettings()
        settings.host = admin.host
        settings.port = admin.port
        if let adminToken {
            let text = String(decoding: try PosixFile.readAll(adminToken, limit: 4096), as: UTF8.self)
            let token = text.split(separator: "\n").first.map { $0.trimmingCharacters(in: .whitespaces) } ?? ""
            guard token.utf8.count >= 16 else { throw Failure("\(adminToken): the admin token must be at least 16 characters on its first line") }
            settings.token = token
        }
        guard admin.isLoopback || settings.token != nil else {
            throw Failure("--admin \(admin) is not loopback: give --admin-token FILE so that only holders of the token can use the admin API")
        }
        return settings
    }
}

extension ArgumentHelp {
    /// Help for an option parsed with `transform:`, for which ArgumentParser shows no
    /// default: the default is written as ArgumentParser writes it for the others.
    static func withDefault(_ abstract: String, valueName: String, _ value: some CustomStringConvertible) -> ArgumentHelp {
        ArgumentHelp("\(abstract) (default: \(value))", valueName: valueName)
    }
}
