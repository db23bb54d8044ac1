import Foundation
import Node

/// What `bundlecast demo` prints while it waits: on a terminal one line per
/// node redrawn in place, otherwise a plain line whenever a node changes.
struct DemoView {
    let tty: Bool

    func heading(_ text: String) {
        print(tty ? "\n\u{1B}[1m== \(text)\u{1B}[0m" : "\n== \(text)")
    }

    /// Polls every node's status until `done` holds for them, or fails at `until` naming the nodes not there.
    func wait(_ fleet: DemoFleet, until: Date, what: String, live version: String? = nil,
              _ done: ([NodeStatus?]) -> Bool) async throws {
        var shown: [String] = []
        let started = Date()
        while true {
            var statuses: [NodeStatus?] = []
            for node in fleet.nodes { statuses.append(try? await fleet.client(node).status()) }
            if let version {
                var lines: [String] = []
                for (node, status) in zip(fleet.nodes, statuses) {
                    lines.append(Self.line(node.name, status, version: version) + Self.serving(await fleet.served(node), at: node.page))
                }
                if tty {
                    if !shown.isEmpty { print("\u{1B}[\(shown.count)A", terminator: "") }
                    for line in lines { print("\u{1B}[2K" + line) }
                } else {
                    for (i, line) in lines.enumerated() where shown.count != lines.count || shown[i] != line { print(line) }
                }
                shown = lines
            }
            if done(statuses) {
                print(String(format: "%@: done in %.1f s", what, Date().timeIntervalSince(started)))
                return
            }
            guard Date() < until else {
                let late = zip(fleet.nodes, statuses).filter { !done([$0.1]) }.map(\.0.name)
                throw Failure("not converged in time: \(what); not there: \(late.joined(separator: ", ")). Logs: \(fleet.directory)/<node>/node.log")
            }
            try await Task.sleep(for: .milliseconds(200))
        }
    }

    /// What the node's content server hands out, and where.
    static func serving(_ version: String?, at page: String) -> String {
        "  · " + (version.map { "serves \($0)" } ?? "serves nothing yet") + " at " + page
    }

    static func line(_ name: String, _ status: NodeStatus?, version: String) -> String {
        guard let status else { return "\(name.padding(7)) (not answering)" }
        let app = status.`self`.apps.first
        let percent: Int
        let state: String
        if app?.installed == version {
            percent = 100
            state = "installed \(version)" + (status.`self`.fromPeers.map { ", \($0)% of its bytes from peers" } ?? "")
        } else if let p = app?.progress {
            // A node's answer, up to 255: above 100 the bar's remainder would be negative.
            percent = min(100, Int(p))
            state = "downloading \(version)"
        } else {
            percent = 0
            state = app?.installed.map { "on \($0), waiting" } ?? "waiting"
        }
        let filled = percent / 5
        let bar = String(repeating: "█", count: filled) + String(repeating: "░", count: 20 - filled)
        return "\(name.padding(7)) \(bar) \(String(percent).leftPadded(3))%  \(state)"
    }
}
