import Hummingbird

/// `GET /metrics`: the node's Prometheus text. What the shells count is read at the scrape
/// (``NodeMetrics/sync(_:_:to:)``), so a scrape costs a look at counters already kept.
extension NodeAdminAPI {
    func addMetricsRoute(to router: Router<BasicRequestContext>) {
        router.get("/metrics") { _, _ in
            sample()
            return Response(status: .ok, headers: [.contentType: "text/plain; version=0.0.4"],
                            body: .init(byteBuffer: ByteBuffer(bytes: metrics.text())))
        }
    }

    /// Brings the shells' totals and the node's state into the registry.
    func sample() {
        let t = transfer.counters
        for (direction, bytes, chunks) in [("in", t.bytesIn, t.chunksIn), ("out", t.bytesOut, t.chunksOut)] {
            metrics.sync("bundlecast_node_transfer_bytes_total", [("direction", direction)], to: Int64(clamping: bytes))
            metrics.sync("bundlecast_node_transfer_chunks_total", [("direction", direction)], to: Int64(clamping: chunks))
        }
        metrics.sync("bundlecast_node_bad_chunks_total", to: Int64(clamping: t.badChunks))
        metrics.sync("bundlecast_node_bad_frames_total", to: Int64(clamping: t.badFrames))
        metrics.sync("bundlecast_node_seeded_bytes_total", to: Int64(clamping: t.bytesSeeded))
        metrics.sync("bundlecast_node_connections_refused_total", to: Int64(clamping: t.connectionsRefused))
        metrics.gauge("bundlecast_node_transfer_connections", Int64(clamping: t.connectionsIn), labels: [("direction", "in")])
        metrics.gauge("bundlecast_node_transfer_connections", Int64(clamping: t.connectionsOut), labels: [("direction", "out")])
        metrics.gauge("bundlecast_node_banned_peers", Int64(clamping: t.bannedCount ?? t.banned.count))

        let g = gossip.counterValues
        for (direction, datagrams, bytes) in [("in", g.datagramsIn, g.bytesIn), ("out", g.datagramsOut, g.bytesOut)] {
            metrics.sync("bundlecast_node_gossip_datagrams_total", [("direction", direction)], to: Int64(clamping: datagrams))
            metrics.sync("bundlecast_node_gossip_bytes_total", [("direction", direction)], to: Int64(clamping: bytes))
        }
        for (reason, count) in [("unauthenticated", g.droppedUnauthenticated), ("oversized", g.droppedOversized), ("malformed", g.droppedMalformed)] {
            metrics.sync("bundlecast_node_gossip_dropped_total", [("reason", reason)], to: Int64(clamping: count))
        }
        var members: [String: Int64] = ["alive": 0, "suspect": 0, "dead": 0, "left": 0]
        for member in gossip.members { members[NodeStatus.view(member).state, default: 0] += 1 }
        for (state, count) in members { metrics.gauge("bundlecast_node_peers", count, labels: [("state", state)]) }

        for (reason, count) in state.refused {
            metrics.sync("bundlecast_node_refused_notices_total", [("reason", reason)], to: Int64(clamping: count))
        }
        for m in updater.downloads.mirrors.views(now: Fetch.now()) {
            let labels = [("app", m.app), ("mirror", m.url)]
            metrics.sync("bundlecast_node_mirror_bytes_total", labels, to: Int64(clamping: m.bytes))
            metrics.sync("bundlecast_node_mirror_chunks_total", labels, to: Int64(clamping: m.chunks))
            for (problem, count) in [("wrong_bytes", m.wrongBytes), ("bad_answer", m.badAnswers), ("failure", m.failures)] {
                metrics.sync("bundlecast_node_mirror_problems_total", labels + [("problem", problem)], to: Int64(clamping: count))
            }
        }
        let apps = state.metadata.apps
        for app in trustedApps {
            let held = apps[app]
            metrics.gauge("bundlecast_node_accepted_sequence", Int64(clamping: held?.sequence ?? 0), labels: [("app", app)])
            metrics.gauge("bundlecast_node_installed_sequence", Int64(clamping: held?.installedSequence ?? 0), labels: [("app", app)])
            metrics.installedVersion(app: app, held?.installed)
        }
    }
}
