import BundlecastCore
import Foundation
import Node
import Testing
@testable import bundlecast

/// `bundlecast status` prints what a node answered, members' gossip included: a terminal
/// control in any string of it (ESC ] 52 writes the clipboard on some terminals, CR and LF
/// forge lines, U+202E reverses text) reaches the screen as a visible escape.
@Suite struct StatusReportTextTests {
    static let hostile = "\u{1B}]52;c;cm0gLXJmIH4=\u{07}\u{1B}[2J\r\n\u{9B}31m\u{202E}gpj.exe"

    /// A status in which every string is `text`.
    static func status(_ text: String) throws -> NodeStatus {
        let s = String(decoding: try JSONEncoder().encode(text), as: UTF8.self)
        let gossip = String(decoding: try JSONEncoder().encode(GossipCounters()), as: UTF8.self)
        let member = """
            {"id": \(s), "address": \(s), "state": \(s), "incarnation": 1, "zone": \(s), "apps": [{"app": \(s), "version": \(s), \
            "sequence": 2, "installed": \(s), "installedSequence": 1, "progress": 30, "failed": \(s), "held": [\(s)], "epoch": 1}]}
            """
        let json = """
            {"self": \(member), "channel": \(s), "members": [\(member)], "apps": [{"app": \(s), \
            "latest": {"version": \(s), "kind": \(s), "sequence": 2, "receivedAt": 0}, "keyId": \(s), "keyEpoch": 1, \
            "spread": [{"version": \(s), "sequence": 2, "nodes": 1}], "without": 0, \
            "accepted": [{"version": \(s), "sequence": 2, "nodes": 1}], "downloading": 1, "failed": 1}], \
            "gossip": \(gossip), "refusedNotices": {}, "errors": {\(s): \(s)}}
            """
        return try JSONDecoder().decode(NodeStatus.self, from: Data(json.utf8))
    }

    @Test func noTerminalControlFromTheNodeReachesTheScreen() throws {
        let text = StatusReport(try Self.status(Self.hostile), app: nil, members: true, now: 100).text
        let steering = text.unicodeScalars.filter { $0 != "\n" && PrintableText.steersTerminal($0) }.map(\.value)
        #expect(steering.isEmpty, "\(text.debugDescription)")
        #expect(text.contains("\\u{1B}]52;c;"), "shown escaped, not dropped")
        #expect(text.contains("\\u{202E}gpj.exe"))
        // No line forged: as many lines as the same status with plain strings.
        let plain = StatusReport(try Self.status("x"), app: nil, members: true, now: 100).text
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false).count
        let plainLines = plain.split(separator: "\n", omittingEmptySubsequences: false).count
        #expect(lines == plainLines, "\(text)")
    }
}
