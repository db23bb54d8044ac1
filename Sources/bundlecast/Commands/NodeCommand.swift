import ArgumentParser
import BundlecastCore
import Foundation
import Gossip
import Logging
import Node
import Publisher

struct NodeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "node",
        abstract: "Run a peer node: it joins the fleet by gossip and learns of releases.",
        discussion: """
            Members find each other with SWIM over UDP (push-pull over TCP on the same port), \
            and spread signed notices, which every node verifies against the pinned key before \
            storing or passing them on. Ports may be 0: the node writes the ports it got to \
            DATA/ready.json. Downloading and installing bundles come with a later release.

            Example:
              bundlecast node --data /var/lib/bundlecast --gossip 0.0.0.0:7946 --advertise 10.0.0.5 \\
                --join 10.0.0.2:7946 --trust acme=Keys/acme.pub --fleet-key /etc/bundlecast/fleet.key
            """
    )

    @Option(help: ArgumentHelp("The node's data directory (created if missing).", valueName: "dir"))
    var data: String

    @Option(help: ArgumentHelp("UDP and TCP address for gossip, HOST:PORT (IP literal).", valueName: "host:port"))
    var gossip = "127.0.0.1:7946"

    @Option(help: ArgumentHelp("Admin API address, HOST:PORT (loopback by default).", valueName: "host:port"))
    var admin = "127.0.0.1:7947"

    @Option(help: ArgumentHelp("Address other members use to reach this node, when it differs from the bound one (IP literal).", valueName: "host"))
    var advertise: String?

    @Option(help: ArgumentHelp("Members to join through, comma-separated HOST:PORT.", valueName: "host:port,..."))
    var join: String?

    @Option(help: ArgumentHelp("Pin an app's publisher key (repeatable).", valueName: "app=key.pub"))
    var trust: [String] = []

    @Option(help: "The channel this node follows.")
    var channel = "stable"

    @Option(help: "This node's zone (for status and, later, locality).")
    var zone: String?

    @Option(help: ArgumentHelp("Authenticate gossip with this key (made by `bundlecast fleet-key`).", valueName: "file"))
    var fleetKey: String?

    @Option(help: ArgumentHelp("Long-poll this origin as a backstop to gossip (http://HOST:PORT).", valueName: "url"))
    var origin: String?

    @Option(help: "Log level: trace, debug, info, notice, warning, error, critical.")
    var logLevel = "info"

    func validate() throws {
        guard !trust.isEmpty else { throw ValidationError("give at least one --trust APP=KEY.pub") }
        guard Logger.Level(rawValue: logLevel) != nil else { throw ValidationError("--log-level \(logLevel) is not a log level") }
    }

    func run() async throws {
        try await reportingAsync {
            bootstrapLogging(logLevel)
            try AtomicWrite.makeDirectories(data)
            var settings = NodeService.Settings(dataDirectory: data)
            let gossipAddress = try HostPort(gossip)
            let adminAddress = try HostPort(admin)
            settings.gossip.host = gossipAddress.host
            settings.gossip.port = gossipAddress.port
            settings.gossip.advertise = advertise
            settings.adminHost = adminAddress.host
            settings.adminPort = adminAddress.port
            guard adminAddress.host == "127.0.0.1" || adminAddress.host == "::1" || adminAddress.host == "localhost" else {
                throw Failure("--admin must be on loopback for now: the admin API has no authentication yet")
            }
            settings.join = try (join ?? "").split(separator: ",").map { part in
                let hp = try HostPort(String(part))
                return PeerAddress(host: hp.host, port: UInt16(hp.port))
            }
            for flag in try trust.map(TrustFlag.init) { settings.trusted[flag.app] = try loadPublicKey(flag.keyPath) }
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
