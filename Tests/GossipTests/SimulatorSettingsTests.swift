import Simulation
import Testing

/// The swarm simulation runs the node's own settings values: every field of them must be
/// listed in its table as modelled or deliberately not, so a new node setting fails here
/// until someone decides what the simulator does with it.
@Suite struct SimulatorSettingsTests {
    static func labels(of value: Any, as type: String) -> Set<String> {
        Set(Mirror(reflecting: value).children.compactMap { $0.label.map { "\(type).\($0)" } })
    }

    static let nodeFields = labels(of: SwarmSimulation.Settings().fetch, as: "FetchSettings")
        .union(labels(of: SwarmSimulation.Settings().fetch.swarm, as: "SwarmSettings"))

    @Test(arguments: nodeFields.sorted()) func everyNodeSettingHasACounterpart(_ field: String) {
        #expect(SwarmSimulation.nodeSettings[field] != nil,
                "\(field) is a node setting the simulator does not list: model it, or say why not in SwarmSimulation.nodeSettings")
    }

    @Test func theTableNamesOnlyRealSettings() {
        let stale = Set(SwarmSimulation.nodeSettings.keys).subtracting(Self.nodeFields)
        #expect(stale.isEmpty, "listed but no longer node settings: \(stale.sorted())")
    }
}
