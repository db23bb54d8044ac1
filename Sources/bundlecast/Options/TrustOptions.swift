import ArgumentParser
import BundlecastCore
import Node
import Publisher

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
