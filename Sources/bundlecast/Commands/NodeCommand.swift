import ArgumentParser
import BundlecastCore
import CMalloc
import Foundation
import Gossip
import Logging
import Node
import Publisher

struct NodeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "node",
        abstract: "Run a peer node: it joins the fleet, downloads releases from peers, installs and serves them.",
        discussion: """
            Members find each other with SWIM over UDP (push-pull over TCP on the same port), \
            and spread signed notices, which every node verifies against the pinned key before \
            storing or passing them on. A newer notice for this node's channel (when the node is \
            in its rollout) starts a download from peers over TCP (--transfer): the manifest is \
            checked against the notice's signature, every chunk against its digest; then the \
            version is installed into DATA/apps/APP/VERSION and DATA/apps/APP/current is swapped \
            atomically. The node keeps the current and the previous version and serves every \
            chunk of them. Ports may be 0: the node writes the ports it got to DATA/ready.json.

            Publisher keys change by rotation statements (`bundlecast rotate-key`), taken from the \
            admin API, gossip or the origin and checked against the pinned key; the node then \
            refuses notices signed by the old key. The rotated key is kept in DATA/node.sqlite and \
            wins over a --trust naming a retired key. If the publisher lost its key, --repin APP \
            pins the --trust key instead (see docs/key-rotation.md).

            Freshness: with --origin-key (the origin's own public key), the node checks the \
            short-lived timestamps the origin signs (fetched with --origin, and passed on by \
            gossip), and status says when the origin names a newer notice than the node holds, or \
            when no timestamp younger than --freshness-threshold has reached it: a node kept on old \
            notices by its peers can tell.

            With --fleet-key, gossip is authenticated and every transfer connection encrypted.

            Rates take a number of bytes per second with an optional K, M or G suffix (1024-based).

            Example:
              bundlecast node --data /var/lib/bundlecast --gossip 0.0.0.0:7946 --transfer 0.0.0.0:7948 \\
                --advertise 10.0.0.5 --join 10.0.0.2:7946 --trust acme=Keys/acme.pub \\
                --fleet-key /etc/bundlecast/fleet.key --on-install /usr/local/bin/acme-health
            """
    )

    @Option(help: ArgumentHelp("The node's data directory (created if missing).", valueName: "dir"))
    var data: String

    @Option(help: ArgumentHelp("UDP and TCP address for gossip, HOST:PORT (IP literal).", valueName: "host:port"))
    var gossip = "127.0.0.1:7946"

    @Option(help: ArgumentHelp("Admin API address, HOST:PORT (loopback by default).", valueName: "host:port"))
    var admin = "127.0.0.1:7947"

    @Option(help: ArgumentHelp("Address other members use to reach this node, when it differs from the bound one (a host name is resolved once, at start).", valueName: "host"))
    var advertise: String?

    @Option(help: ArgumentHelp("Members to join through, comma-separated HOST:PORT (host names are resolved once, at start).", valueName: "host:port,..."))
    var join: String?

    @Option(help: ArgumentHelp("Pin an app's publisher key (repeatable). After a rotation the stored key wins over a --trust naming a retired one.", valueName: "app=key.pub"))
    var trust: [String] = []

    @Option(help: ArgumentHelp("Recovery when APP's current key is lost: pin its --trust key instead of the stored one, at epoch 0 of a new rotation chain (repeatable). No effect when --trust names the stored key or one the chain retired.", valueName: "app"))
    var repin: [String] = []

    @Option(help: "The channel this node follows.")
    var channel = "stable"

    @Option(help: "This node's zone: shown in status; peers in the same zone are preferred for transfers.")
    var zone: String?

    @Option(help: ArgumentHelp("Authenticate gossip with this key (made by `bundlecast fleet-key`).", valueName: "file"))
    var fleetKey: String?

    @Option(help: ArgumentHelp("Long-poll this origin as a backstop to gossip (http://HOST:PORT).", valueName: "url"))
    var origin: String?

    @Option(help: ArgumentHelp("The origin's own public key: check its signed freshness timestamps (see --freshness-threshold).", valueName: "file"))
    var originKey: String?

    @Option(help: ArgumentHelp("With --origin-key: status reports freshness unconfirmed when the newest origin timestamp is older than this.", valueName: "duration"))
    var freshnessThreshold = "1h"

    @Option(help: ArgumentHelp("TCP address for transfers, HOST:PORT (IP literal); its port is gossiped.", valueName: "host:port"))
    var transfer = "127.0.0.1:7948"

    @Option(help: ArgumentHelp("Cap on upload bytes per second over all peers (e.g. 20M); none by default.", valueName: "rate"))
    var maxUploadRate: String?

    @Option(help: ArgumentHelp("Cap on download bytes per second (e.g. 50M); none by default.", valueName: "rate"))
    var maxDownloadRate: String?

    @Option(help: ArgumentHelp("Most disk the chunk store may use (e.g. 20G); a release that does not fit is refused with a clear error, not half fetched. None by default.", valueName: "size"))
    var maxStore: String?

    @Option(help: ArgumentHelp("Wait a random time up to this before a download starts (0s, 2s, 5m...).", valueName: "duration"))
    var stagger = "2s"

    @Option(help: ArgumentHelp("Health check after each install, run with /bin/sh -c and BUNDLECAST_APP, BUNDLECAST_VERSION, BUNDLECAST_PATH, BUNDLECAST_PREVIOUS_VERSION set; a failure rolls back.", valueName: "command"))
    var onInstall: String?

    @Option(help: ArgumentHelp("How long the health check may run.", valueName: "duration"))
    var onInstallTimeout = "60s"

    @Option(help: ArgumentHelp("Require this token (the file's first line) as `Authorization: Bearer` on the admin API; needed when --admin is not loopback. Clients send $BUNDLECAST_ADMIN_TOKEN.", valueName: "file"))
    var adminToken: String?

    @Option(help: ArgumentHelp("Network threads (SwiftNIO event loops) for gossip, transfers and the admin API. One keeps a transfer's frames, `has` news and download planning on one thread, with no locks contended between threads; hashing and disk I/O run on other threads either way. More may help a node that serves many peers at high rates on a machine with cores to spare; that case was not measured.", valueName: "n"))
    var eventLoops = 1

    @Flag(help: "Hold and serve releases, never install them. With --max-upload-rate it super-seeds: a chunk it sent to one peer is refused to others for 5 s, so its upload goes to chunks the fleet lacks.")
    var seedOnly = false

    @Flag(help: ArgumentHelp("Test only: corrupt every chunk and manifest this node uploads.", visibility: .hidden))
    var testCorruptUploads = false

    @Flag(help: ArgumentHelp("Benchmarks only: serve upload requests in arrival order, not in turns per requester.", visibility: .hidden))
    var benchUploadsInArrivalOrder = false

    @Flag(help: ArgumentHelp("Test only: accept POST /v1/test/partition to cut this node off from members.", visibility: .hidden))
    var testFaults = false

    @Option(help: "Log level: trace, debug, info, notice, warning, error, critical.")
    var logLevel = "info"

    func validate() throws {
        for (flag, value) in [("--max-upload-rate", maxUploadRate), ("--max-download-rate", maxDownloadRate)] {
            if let value, Rate.bytesPerSecond(value) == nil {
                throw ValidationError("\(flag) \"\(value)\" is not a rate such as 500K, 20M or 1G (bytes per second)")
            }
        }
        if let maxStore, ByteQuantity.parse(maxStore) == nil {
            throw ValidationError("--max-store \"\(maxStore)\" is not a size such as 500M, 20G or 1T")
        }
        guard (1...64).contains(eventLoops) else { throw ValidationError("--event-loops \(eventLoops) is not between 1 and 64") }
        // A stagger beyond a day is a typo, not a policy (and nanoseconds of it overflow past 292 years).
        guard let staggerSeconds = DurationText.seconds(stagger, allowZero: true), staggerSeconds <= 86_400 else {
            throw ValidationError("--stagger \"\(stagger)\" is not a duration of at most a day, such as 0s, 90s, 15m")
        }
        guard DurationText.seconds(onInstallTimeout) != nil else {
            throw ValidationError("--on-install-timeout \"\(onInstallTimeout)\" is not a duration such as 90s, 15m")
        }
        guard !trust.isEmpty else { throw ValidationError("give at least one --trust APP=KEY.pub") }
        guard DurationText.seconds(freshnessThreshold) != nil else {
            throw ValidationError("--freshness-threshold \"\(freshnessThreshold)\" is not a duration such as 30m, 1h, 6h")
        }
        guard Logger.Level(rawValue: logLevel) != nil else { throw ValidationError("--log-level \(logLevel) is not a log level") }
    }

    func run() async throws {
        limitMallocArenas()
        // Before anything starts the shared event loops.
        NodeService.useEventLoops(eventLoops)
        try await reportingAsync {
            bootstrapLogging(logLevel)
            try AtomicWrite.makeDirectories(data)
            var settings = NodeService.Settings(dataDirectory: data)
            let gossipAddress = try HostPort(gossip)
            let adminAddress = try HostPort(admin)
            settings.gossip.host = gossipAddress.host
            settings.gossip.port = gossipAddress.port
            settings.gossip.advertise = try advertise.map(HostResolver.ipLiteral)
            settings.adminHost = adminAddress.host
            settings.adminPort = adminAddress.port
            if let adminToken {
                let text = String(decoding: try PosixFile.readAll(adminToken, limit: 4096), as: UTF8.self)
                let token = text.split(separator: "\n").first.map { $0.trimmingCharacters(in: .whitespaces) } ?? ""
                guard token.utf8.count >= 16 else { throw Failure("\(adminToken): the admin token must be at least 16 characters on its first line") }
                settings.adminToken = token
            }
            guard adminAddress.host == "127.0.0.1" || adminAddress.host == "::1" || adminAddress.host == "localhost" || settings.adminToken != nil else {
                throw Failure("--admin \(admin) is not loopback: give --admin-token FILE so that only holders of the token can use the admin API")
            }
            settings.join = try (join ?? "").split(separator: ",").map { part in
                let hp = try HostPort(String(part))
                return PeerAddress(host: try HostResolver.ipLiteral(hp.host), port: UInt16(hp.port))
            }
            for flag in try trust.map(TrustFlag.init) { settings.trusted[flag.app] = try loadPublicKey(flag.keyPath) }
            for app in repin where settings.trusted[app] == nil {
                throw Failure("--repin \(app) needs --trust \(app)=KEY.pub: the key to pin")
            }
            settings.repin = Set(repin)
            try Identifier.validateChannel(channel)
            settings.channel = channel
            settings.zone = zone
            if let fleetKey {
                let text = String(decoding: try PosixFile.readAll(fleetKey, limit: 4096), as: UTF8.self)
                do { settings.fleetKey = try FleetKey(fileText: text) } catch { throw Failure("\(fleetKey): \(error)") }
            }
            if let origin {
                guard let url = URL(string: origin), url.scheme == "http" || url.scheme == "https", url.host != nil else {
                    throw Failure("--origin \"\(origin)\" is not an http:// URL")
                }
                settings.origin = url
            }
            if let originKey {
                let key = try loadPublicKey(originKey)
                if settings.trusted.values.contains(where: { $0.keyID == key.keyID }) {
                    throw Failure("--origin-key \(originKey) is a publisher's key (\(key.keyID)): pin the origin's own key (the .pub of the origin's --key)")
                }
                settings.originKey = key
            }
            settings.freshnessThreshold = DurationText.seconds(freshnessThreshold)!
            let transferAddress = try HostPort(transfer)
            settings.transfer.host = transferAddress.host
            settings.transfer.port = transferAddress.port
            settings.transfer.maxUploadRate = maxUploadRate.flatMap(Rate.bytesPerSecond)
            settings.transfer.corruptUploads = testCorruptUploads
            settings.transfer.uploadsInTurns = !benchUploadsInArrivalOrder
            settings.transfer.superSeed = seedOnly
            if testFaults {
                let partition = Partition()
                settings.gossip.partition = partition
                settings.transfer.partition = partition
            }
            settings.maxDownloadRate = maxDownloadRate.flatMap(Rate.bytesPerSecond)
            settings.maxStore = maxStore.flatMap(ByteQuantity.parse)
            settings.stagger = .seconds(DurationText.seconds(stagger, allowZero: true) ?? 0)
            settings.onInstall = onInstall
            settings.onInstallTimeout = .seconds(DurationText.seconds(onInstallTimeout) ?? 60)
            settings.seedOnly = seedOnly
            try await NodeService.run(settings, logger: Logger(label: "bundlecast.node"))
        }
    }
}

struct StatusCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "status",
        abstract: "Show the fleet's version spread, as one node sees it.",
        discussion: """
            Asks a node's admin API for every member it knows and the newest notice each one \
            has accepted per app, and prints per app: version, sequence, nodes, percent and a bar \
            over the live members, the suspect and dead ones, and the newest notice with its age.

            Examples:
              bundlecast status --node 127.0.0.1:7947
              bundlecast status --node 127.0.0.1:7947 --app acme --members --watch
            """
    )

    @Option(help: ArgumentHelp("A node's admin address.", valueName: "host:port"))
    var node = "127.0.0.1:7947"

    @Option(help: "Only this app.")
    var app: String?

    @Flag(help: "List every member too.")
    var members = false

    @Flag(help: "Print the node's JSON answer.")
    var json = false

    @Flag(help: "Refresh every second until interrupted.")
    var watch = false

    func run() async throws {
        try await reportingAsync {
            let address = try HostPort(node)
            let client = try NodeAdminClient(url: address.httpURL)
            repeat {
                let status: NodeStatus
                do { status = try await client.status() } catch {
                    throw Failure("\(error) (is `bundlecast node` running with --admin \(node)?)")
                }
                if json {
                    let encoder = JSONEncoder()
                    encoder.outputFormatting = [.sortedKeys, .prettyPrinted]
                    print(String(decoding: try encoder.encode(status), as: UTF8.self))
                } else {
                    if watch && isatty(STDOUT_FILENO) == 1 { print("\u{1B}[H\u{1B}[2J", terminator: "") }
                    print(StatusReport(status, app: app, members: members, now: UInt64(Date().timeIntervalSince1970)).text)
                }
                if watch { try await Task.sleep(for: .seconds(1)) }
            } while watch
        }
    }
}

/// glibc gives each thread that contends for the heap an arena of its own (up to 8 per
/// core), and freed 64 KiB chunk buffers stay in whichever arena they came from. Two is a
/// cap on that fragmentation, unless `MALLOC_ARENA_MAX` says otherwise. (In the 20-node
/// benchmark one run with two arenas peaked at 59 MiB against 77 MiB without, but runs
/// varied; with 4 MiB in flight per download, 8 and 2 arenas made no clear difference.)
private func limitMallocArenas() {
    if ProcessInfo.processInfo.environment["MALLOC_ARENA_MAX"] == nil { _ = cmalloc_limit_arenas(2) }
}
