import Node

extension StatusReport {
    /// One line per mirror of `app` this node has (`--mirror`): what it served, what was
    /// refused, and the releases it is skipped for.
    static func mirrorLines(_ mirrors: [NodeStatus.MirrorView], app: String) -> [String] {
        mirrors.filter { $0.app == app }.map { m in
            var line = "  mirror \(m.url): \(m.chunks) chunks (\(Format.bytes(m.bytes)))"
            if m.manifests > 0 { line += ", \(m.manifests) manifest\(m.manifests == 1 ? "" : "s")" }
            var problems: [String] = []
            if m.wrongBytes > 0 { problems.append("\(m.wrongBytes) REFUSED for wrong bytes") }
            if m.badAnswers > 0 { problems.append("\(m.badAnswers) bad answers") }
            if m.failures > 0 { problems.append("\(m.failures) failed requests") }
            if !problems.isEmpty { line += "; " + problems.joined(separator: ", ") }
            if !m.skippedFor.isEmpty { line += "; skipped for release \(m.skippedFor.joined(separator: ", "))" }
            if let last = m.lastProblem, !problems.isEmpty { line += " (last: \(last))" }
            return line
        }
    }
}
