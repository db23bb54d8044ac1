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

            Rates and sizes take a number of bytes with an optional K, M, G or T suffix, 1024-based \
            (20M, 20MiB and 20MiB/s are the same rate).

            Example:
              bundlecast node --data /var/lib/bundlecast --gossip 0.0.0.0:7946 --transfer 0.0.0.0:7948 \\
                --advertise 10.0.0.5 --join 10.0.0.2:7946 --trust acme=Keys/acme.pub \\
                --fleet-key /etc/bundlecast/fleet.key --on-install /usr/local/bin/acme-health
            """
    )

    @Option(help: ArgumentHelp("The node's data directory (created if missing).", valueName: "dir"))
    var data: String

    @OptionGroup(title: "Network")
    var network: NetworkOptions

    @OptionGroup(title: "Trust")
    var trust: TrustOptions

    @OptionGroup(title: "Updates")
    var update: UpdateOptions

    @OptionGroup(title: "Transfers")
    var transfers: TransferOptions

    @OptionGroup(title: "Origin")
    var origin: OriginOptions

    @OptionGroup(title: "Mirrors")
    var mirrors: MirrorOptions

    @OptionGroup(title: "Admin API")
    var admin: AdminOptions

    @OptionGroup(title: "Local content server")
    var serve: ServeOptions

    @Flag(help: ArgumentHelp("Test only: accept POST /v1/test/partition to cut this node off from members.", visibility: .hidden))
    var testFaults = false

    @Option(help: "Log level.")
    var logLevel = Logger.Level.info

    func validate() throws {
        guard (1...64).contains(network.eventLoops) else { throw ValidationError("--event-loops \(network.eventLoops) is not between 1 and 64") }
        guard !trust.trust.isEmpty else { throw ValidationError("give at least one --trust APP=KEY.pub") }
    }

    func run() async throws {
        limitMallocArenas()
        raiseOpenFileLimit()
        // Before anything starts the shared event loops.
        NodeService.useEventLoops(network.eventLoops)
        try await reportingAsync {
            bootstrapLogging(logLevel)
            try AtomicWrite.makeDirectories(data)
            try await NodeService.run(try settings(), logger: Logger(label: "bundlecast.node"))
        }
    }

    /// Each option group maps onto its part of the node's settings; files are read and host names resolved here, once.
    func settings() throws -> NodeService.Settings {
        var settings = NodeService.Settings(dataDirectory: data)
        settings.gossip = try network.gossipSettings()
        settings.admin = try admin.settings()
        settings.join = try network.joinAddresses()
        settings.trust = try trust.settings()
        settings.update = try update.settings(maxDownloadRate: transfers.maxDownloadRate)
        settings.update.mirrors = try mirrors.settings(trusted: Set(settings.trust.trusted.keys))
        settings.fleetKey = try trust.loadFleetKey()
        settings.origin = try origin.settings(trusted: settings.trust.trusted)
        settings.transfer = transfers.settings(address: network.transfer)
        settings.maxStore = transfers.maxStore?.bytes
        settings.serve = try serve.settings()
        if testFaults {
            let partition = Partition()
            settings.gossip.partition = partition
            settings.transfer.partition = partition
        }
        return settings
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
            The same view, live in a browser: http://NODE/ui (the node's admin address).

            Examples:
              bundlecast status --node 127.0.0.1:7947
              bundlecast status --node 127.0.0.1:7947 --app acme --members --watch
            """
    )

    @Option(help: .withDefault("A node's admin address.", valueName: "host:port", AdminOptions.defaultAdmin), transform: HostPort.parse)
    var node = AdminOptions.defaultAdmin

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
            let client = try NodeAdminClient(url: node.httpURL)
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
/// cap on that fragmentation (a node's peak RSS in the swarm benchmark), unless
/// `MALLOC_ARENA_MAX` says otherwise.
private func limitMallocArenas() {
    if ProcessInfo.processInfo.environment["MALLOC_ARENA_MAX"] == nil { _ = cmalloc_limit_arenas(2) }
}

