import ArgumentParser
import Node

/// Where releases no peer holds can be fetched from.
struct MirrorOptions: ParsableArguments {
    @Option(help: ArgumentHelp(
        "An HTTP mirror of APP's releases (repeatable; tried in order): any static host laid out like Manifests/APP/ "
            + "with each release's bundle directory beside its manifest, URL/VERSION.manifest and URL/VERSION/PATH. "
            + "A chunk no peer has offered for 1.5 s is fetched from it by a Range request, and the manifest when no "
            + "peer sends it; every byte is checked against the signed manifest, and a mirror that serves wrong bytes "
            + "is skipped for that release for an hour.",
        valueName: "app=url"),
            transform: MirrorFlag.parse)
    var mirror: [MirrorFlag] = []

    /// The mirrors per app, in the order given; each app must be trusted.
    func settings(trusted: Set<String>) throws -> [String: [ReleaseMirror]] {
        var mirrors: [String: [ReleaseMirror]] = [:]
        for flag in mirror {
            guard trusted.contains(flag.app) else { throw Failure("--mirror \(flag): no --trust \(flag.app)=KEY.pub names that app") }
            guard mirrors[flag.app]?.contains(flag.mirror) != true else { throw Failure("--mirror \(flag) is given twice") }
            mirrors[flag.app, default: []].append(flag.mirror)
            guard mirrors[flag.app]!.count <= Self.maxPerApp else {
                throw Failure("--mirror: at most \(Self.maxPerApp) mirrors per app (\(flag.app) has more)")
            }
        }
        return mirrors
    }

    /// More would only lengthen the walk past mirrors that fail.
    static let maxPerApp = 8
}
