import ArgumentParser
import Gossip
import Node

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

    @Option(help: ArgumentHelp("Network threads (SwiftNIO event loops) for transfers and the admin API (gossip has a thread of its own). One keeps a transfer's frames, `has` news, download planning and the hashing and storing of received chunks on one thread, with no locks contended between threads; reads for uploads run on other threads. More may help a node that serves many peers at high rates on a machine with cores to spare; that case was not measured.", valueName: "n"))
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
