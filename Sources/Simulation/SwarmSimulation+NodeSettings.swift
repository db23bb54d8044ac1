import Swarm

extension SwarmSimulation {
    /// How the simulation stands for one of the node's download settings.
    public enum Counterpart: Sendable, Equatable {
        /// The simulation uses the node's value; the text says where.
        case modelled(String)
        /// Deliberately left out; the text says why.
        case notModelled(String)
    }

    /// Every field of the node's ``FetchSettings`` and ``SwarmSettings`` (named `Type.field`)
    /// and what the simulation does with it. A test compares this table with the fields
    /// themselves, so a setting added to the node cannot go unnoticed by the simulator.
    public static let nodeSettings: [String: Counterpart] = [
        "FetchSettings.swarm": .modelled("passed whole to every node's SwarmPlanner"),
        "FetchSettings.maxPeers": .modelled("the random others each node dials when its download starts"),
        "FetchSettings.extraHolders": .modelled("finished nodes dialled beyond maxPeers at each refresh, the seed counted"),
        "FetchSettings.refresh": .modelled("the period of a download's refresh event"),
        "FetchSettings.refreshLacking": .modelled("the period of a download's refresh event while its planner lacks a source"),
        "FetchSettings.maxAskers": .notModelled("every node here takes every peer that dials it as a source: the bound is against made-up ids, and no simulated node has more than a few dozen neighbours"),
        "FetchSettings.requery": .modelled("a peer that refused a chunk is asked again after it; pushed has frames carry the rest"),
        "FetchSettings.mirrorAfter": .notModelled("no simulated node has a mirror (--mirror is off by default, and the fleet has a seed): MirrorPlannerTests and MirrorFleetTests cover it"),
        "FetchSettings.mirrorRequests": .notModelled("no simulated node has a mirror"),
        "FetchSettings.mirrorRetry": .notModelled("no simulated node has a mirror"),
        "FetchSettings.mirrorRetryMax": .notModelled("no simulated node has a mirror"),
        "SwarmSettings.initialWindow": .modelled("SwarmPlanner"),
        "SwarmSettings.maxWindow": .modelled("SwarmPlanner"),
        "SwarmSettings.minWindow": .modelled("SwarmPlanner"),
        "SwarmSettings.maxBytesInFlight": .modelled("SwarmPlanner"),
        "SwarmSettings.randomFirst": .modelled("SwarmPlanner"),
        "SwarmSettings.requestTimeout": .modelled("SwarmPlanner, at the tick events"),
        "SwarmSettings.timeoutsToBench": .modelled("SwarmPlanner, at the tick events (no peer here goes silent for three time-outs, so none is benched)"),
        "SwarmSettings.benchFor": .modelled("SwarmPlanner"),
        "SwarmSettings.strikesToBan": .notModelled("every peer here sends genuine chunks; the fault simulation has the malicious ones"),
        "SwarmSettings.endgameDuplicates": .modelled("SwarmPlanner"),
        "SwarmSettings.endgameMoves": .modelled("SwarmPlanner; a move's cancel leaves the uploader's queue"),
        "SwarmSettings.endgameAfter": .modelled("SwarmPlanner"),
        "SwarmSettings.endgameBudget": .modelled("SwarmPlanner"),
        "SwarmSettings.downloadBytesPerSecond": .modelled("SwarmPlanner's rate limit (unlimited by default, as the node)"),
    ]
}
