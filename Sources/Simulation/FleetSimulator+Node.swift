import BundlecastCore
import Gossip
import Policy
import Swarm

/// What each node does: the node's rules, mirrored where the shell has them (the notice gate,
/// the updater, the fetch loop), with the invariants checked as they act.
extension FleetSimulator {
    // MARK: - Notices

    /// The node's gate (``NoticeGate``), then newer than what it accepted (the store's check).
    mutating func accept(_ i: Int, _ body: [UInt8], now: UInt64) {
        guard let signed = admit(body) else {
            report.forgedRefused += 1
            return
        }
        let held = nodes[i].accepted?.notice.sequence
        guard NoticeGate.isNewer(signed.notice, than: held) else {
            if signed.notice.sequence < held ?? 0 { report.staleRefused += 1 }
            return
        }
        if signed.notice.sequence <= highest[i] {
            violation("n\(i) accepted #\(signed.notice.sequence) after #\(highest[i]): its accepted sequence went down")
        }
        guard notices.contains(body), let release = manifests.firstIndex(of: signed.notice.manifest) else {
            violation("n\(i) accepted a notice the publisher never signed: #\(signed.notice.sequence)")
            return
        }
        highest[i] = signed.notice.sequence
        nodes[i].accepted = signed
        _ = nodes[i].rumours.add(body)
        updateMetadata(i, now: now)
        schedule(i)
        if i != 0 { startDownload(i, release: release, now: now) }
    }

    /// What the gate lets in; the `acceptUnsigned` sabotage skips its key and signature checks.
    func admit(_ body: [UInt8]) -> SignedNotice? {
        guard settings.sabotage == .acceptUnsigned else { return try? gate.check(body, now: Self.unixTime).get() }
        guard let signed = try? SignedNotice(bytes: body), signed.notice.app == Self.app,
              !signed.notice.isExpired(at: Self.unixTime) else { return nil }
        return signed
    }

    /// The release the node's newest accepted notice names.
    func target(_ i: Int) -> Int? {
        nodes[i].accepted.flatMap { manifests.firstIndex(of: $0.notice.manifest) }
    }

    // MARK: - Downloads

    /// The updater: the node's ``UpdatePolicy`` decides whether and when the release is fetched.
    mutating func startDownload(_ i: Int, release: Int, now: UInt64) {
        nodes[i].generation += 1
        nodes[i].download = nil
        guard let signed = nodes[i].accepted else { return }
        let facts = UpdatePolicy.Facts(notice: signed.notice, signedByPinnedKey: signed.signature.keyID == pinned.keyID,
                                       signedDigest: Blake2b.digest256(signed.bytes), record: nodes[i].record)
        guard case .fetchAndInstall = nodes[i].update.reconcile(facts) else { return }
        let chunks = releases[release]
        let held = chunks.map { nodes[i].store[$0] != nil }
        if case .waitUntil(let time) = nodes[i].update.startFetch(manifests[release], chunksMissing: held.contains(false), now: now) {
            heap.push(.reconcile(i, generation: nodes[i].generation), at: time)
            return
        }
        if !held.contains(false) { return install(i, release: release, now: now) }
        var swarm = SwarmSettings()
        swarm.requestTimeout = 3 * Self.second
        nodes[i].download = Download(release: release, planner: SwarmPlanner(sizes: chunks.map { _ in 48 << 10 }, held: held,
                                                                            settings: swarm, seed: rng.next(), now: now))
        refreshPeers(i, now: now)
        heap.push(.refresh(i, generation: nodes[i].generation), at: now + 500_000_000)
    }

    /// The fetch loop's refresh: live members whose metadata says they hold the release whole.
    mutating func refreshPeers(_ i: Int, now: UInt64) {
        guard let d = nodes[i].download else { return }
        for member in nodes[i].swim.members where member.status == .alive
            && Self.holds(inMetadata: member.metadata, release: d.release) && !d.peers.contains(member.id) {
            guard !nodes[i].banned.contains(member.id) else { continue }
            nodes[i].download!.peers.append(member.id)
            var out = nodes[i].download!.planner.addPeer(member.id, sameZone: false, now: now)
            out += nodes[i].download!.planner.peerHasAll(member.id, now: now)
            apply(i, out, now: now)
            guard nodes[i].download != nil else { return }
        }
    }

    mutating func apply(_ i: Int, _ directives: [SwarmPlanner.Directive], now: UInt64) {
        guard let d = nodes[i].download else { return }
        var complete = false
        for directive in directives {
            switch directive {
            case .request(let peer, let position):
                guard let j = byID[peer] else { continue }
                send(.request(to: j, from: i, chunk: releases[d.release][position]), from: i, to: j, at: now + settings.latency)
            case .cancel:
                break
            case .ban(let peer):
                report.bans += 1
                nodes[i].banned.insert(peer)
            case .complete:
                complete = true
            }
        }
        if complete { return install(i, release: d.release, now: now) }
        let deadline = nodes[i].download!.planner.nextDeadline
        if deadline < nodes[i].download!.tickAt {
            nodes[i].download!.tickAt = deadline
            heap.push(.plannerTick(i, generation: nodes[i].generation), at: max(deadline, now))
        }
    }

    /// An uploader: chunks queue on its link; a malicious one flips a byte of each.
    mutating func serve(_ chunk: Int, by j: Int, to i: Int, now: UInt64) {
        guard var bytes = nodes[j].malicious ? Self.content(chunk) : nodes[j].store[chunk] else {
            send(.missing(to: i, from: j, chunk: chunk), from: j, to: i, at: now + settings.latency)
            return
        }
        if nodes[j].malicious { bytes[bytes.count / 2] ^= 0xFF }
        let start = max(now, nodes[j].nextUploadAt)
        nodes[j].nextUploadAt = start + UInt64(48 << 10) * Self.second / max(1, settings.uploadBytesPerSecond)
        send(.chunk(to: i, from: j, chunk: chunk, bytes: bytes), from: j, to: i, at: nodes[j].nextUploadAt + settings.latency)
    }

    /// A chunk arrives: checked against its digest before it is stored or counted.
    mutating func receive(_ chunk: Int, bytes: [UInt8], at i: Int, from j: Int, now: UInt64) {
        guard let d = nodes[i].download, let position = releases[d.release].firstIndex(of: chunk) else { return }
        let valid = settings.sabotage == .storeUnverified || Blake2b.digest256(bytes) == Blake2b.digest256(Self.content(chunk))
        if valid { nodes[i].store[chunk] = bytes } else { report.badChunks += 1 }
        apply(i, nodes[i].download!.planner.received(chunk: position, from: nodes[j].id, valid: valid, now: now), now: now)
    }

    /// Install: every chunk re-checked, and only what the newest accepted notice names (the
    /// policy's check before an install; the simulator never lets a superseded download finish).
    mutating func install(_ i: Int, release: Int, now: UInt64) {
        nodes[i].download = nil
        nodes[i].generation += 1
        let newest = nodes[i].accepted
        switch nodes[i].update.beforeInstall(manifests[release], newest: newest?.notice,
                                             signedByPinnedKey: newest?.signature.keyID == pinned.keyID, record: nodes[i].record) {
        case .install:
            break
        case .superseded:
            violation("n\(i) was about to install release \(release), but its newest notice names \(target(i).map(String.init) ?? "nothing")")
            return
        case .held, .rolloutNarrowed:
            return
        }
        for chunk in releases[release] {
            guard let bytes = nodes[i].store[chunk], Blake2b.digest256(bytes) == Blake2b.digest256(Self.content(chunk)) else {
                violation("n\(i) installed release \(release) with chunk \(chunk) missing or corrupt")
                return
            }
        }
        if let previous = nodes[i].installed, previous > release, nodes[i].accepted?.notice.kind != .withdraw {
            violation("n\(i) went back from release \(previous) to \(release) without a withdrawal")
        }
        guard let notice = newest?.notice else { return }
        let installed = InstallRecord.Installed(version: notice.version.description, manifest: manifests[release], sequence: notice.sequence)
        // The simulated health check always passes.
        guard case .keep(let record) = UpdatePolicy.afterInstall(installed, under: notice, outcome: .passed, record: nodes[i].record) else { return }
        nodes[i].record = record
        nodes[i].installed = release
        report.installs += 1
        updateMetadata(i, now: now)
    }

    // MARK: - Faults and adversaries

    mutating func crash(_ i: Int, now: UInt64) {
        report.crashes += 1
        nodes[i].up = false
        nodes[i].download = nil
        nodes[i].banned = []
        nodes[i].generation += 1
        nodes[i].scheduled = .max
        nodes[i].rumours = RumourQueue(interval: SWIMSettings().noticeInterval)
        nodes[i].update = UpdatePolicy(node: nodes[i].id, settings: Self.updateSettings, seed: nodes[i].id.low)
        if settings.sabotage == .forgetSequence { nodes[i].accepted = nil }
        heap.push(.restart(i), at: now + Self.second + rng.next() % (5 * Self.second))
    }

    mutating func restart(_ i: Int, now: UInt64) {
        // A restarted node is believed: a higher incarnation (the shell uses the Unix time).
        nodes[i].incarnation += 1000
        var holds: UInt8 = 0
        for r in releases.indices where nodes[i].malicious || releases[r].allSatisfy({ nodes[i].store[$0] != nil }) { holds |= 1 << r }
        nodes[i].swim = SWIMMembership(id: nodes[i].id, address: nodes[i].address, incarnation: nodes[i].incarnation,
                                       metadata: Self.metadata(sequence: nodes[i].accepted?.notice.sequence ?? 0, holds: holds),
                                       seed: rng.next(), now: now)
        nodes[i].up = true
        nodes[i].catchUp = CatchUp()
        perform(i, nodes[i].swim.join([nodes[0].address]), now: now)
        schedule(i)
        if (nodes[i].accepted?.notice.sequence ?? 0) < highest[i] {
            violation("n\(i) lost its accepted sequence in a crash")
        }
        if !nodes[i].malicious, let release = target(i) { startDownload(i, release: release, now: now) }
    }

    /// A malicious member gossips a forged notice (higher sequence, another key or a broken
    /// signature) and a replay of the oldest genuine one to a few members.
    mutating func malice(_ i: Int, now: UInt64) {
        let manifest = Array("evil".utf8)
        let notice = try! Notice(kind: .release, app: Self.app, version: SemanticVersion("9.9.9"), sequence: 99, channel: "stable",
                                 manifest: Blake2b.digest256(manifest), size: 1, rollout: 100, created: 1_700_000_000, expires: 4_000_000_000)
        let forged = try! SignedNotice(notice: notice, manifestBytes: manifest, key: attackerKey).bytes
        var broken = notices[notices.count - 1]
        broken[broken.count - 8] ^= 0x01
        var live = nodes[i].swim.members.filter { $0.status == .alive }.map(\.address)
        live.shuffle(using: &nodes[i].picker)
        for target in live.prefix(3) {
            for body in [forged, broken, notices[0]] { transmit(.notice(from: nodes[i].id, body: body), from: i, to: index[target]!, now: now) }
        }
    }

    mutating func checkConverged(now: UInt64) {
        guard report.convergedAfter == nil else { return }
        for i in honest {
            guard nodes[i].up, nodes[i].installed == Self.finalRelease, nodes[i].accepted?.notice.sequence == Self.finalSequence else { return }
        }
        report.convergedAfter = Double(now - settings.faultsUntil) / 1e9
        done = true
    }
}
