import Gossip
@testable import Node
import Testing

/// A member's metadata is any peer's text and `bundlecast status` prints it: metadata with a
/// control character (C0, DEL, C1) or a bidirectional control in any of its strings is no metadata.
@Suite struct NodeMetadataControlTests {
    static func bytes(_ edit: (inout NodeMetadata) -> Void) -> [UInt8] {
        var meta = NodeMetadata(zone: "eu-1", admin: 7000)
        var app = NodeMetadata.AppState(sequence: 3, version: "1.2.0")
        app.installed = "1.1.0"
        app.installedSequence = 2
        app.failed = "1.2.0"
        app.held = ["0123456789abcdef"]
        app.downloading = "fedcba9876543210"
        app.progress = 30
        meta.apps["acme"] = app
        edit(&meta)
        return meta.encoded()
    }

    @Test func metadataWithAControlInAnyStringIsNoMetadata() {
        let plain = NodeMetadata.decode(Self.bytes { _ in })
        #expect(plain?.apps["acme"]?.failed == "1.2.0")
        let unicode = NodeMetadata.decode(Self.bytes { $0.zone = "zürich-1" })
        #expect(unicode?.zone == "zürich-1", "other Unicode is fine")
        let hostile = "x\u{1B}]52;c;eA==\u{07}"
        let edits: [(field: String, edit: (inout NodeMetadata) -> Void)] = [
            ("zone", { $0.zone = hostile }),
            ("channel", { $0.channel = "beta\r\n" }),
            ("app name", { $0.apps["acme\u{202E}"] = $0.apps["acme"] }),
            ("version", { $0.apps["acme"]?.version = hostile }),
            ("installed", { $0.apps["acme"]?.installed = "1.1.0\t" }),
            ("failed", { $0.apps["acme"]?.failed = "1.2.0\u{9B}2J" }),
            ("held", { $0.apps["acme"]?.held = ["0123456789abcdef", hostile] }),
            ("downloading", { $0.apps["acme"]?.downloading = hostile }),
        ]
        for (field, edit) in edits {
            let decoded = NodeMetadata.decode(Self.bytes(edit))
            #expect(decoded == nil, "\(field)")
        }
    }
}
