import BundlecastCore
import Gossip
import Testing
import Policy

/// When a node updates an app: one test per rule, fed facts and matched against directives.
struct UpdatePolicyTests {
    // MARK: - Reconcile

    @Test func whatTheNoticeNamesIsAlreadyCurrent() {
        var p = policy()
        #expect(p.reconcile(facts(notice(2, names: v2), installed: [v2])) == .upToDate)
    }

    @Test func aNewerReleaseIsFetchedAndInstalled() {
        var p = policy()
        #expect(p.reconcile(facts(notice(2, names: v2), installed: [v1])) == .fetchAndInstall(v2.manifest))
        #expect(p.reconcile(facts(notice(1, names: v1))) == .fetchAndInstall(v1.manifest), "nothing installed yet")
    }

    /// Node `me`'s bucket for v2's manifest is 74: a rollout takes the buckets below its percentage.
    @Test(arguments: [
        (percent: 0, inside: false), (percent: 74, inside: false), (percent: 75, inside: true), (percent: 100, inside: true),
    ] as [(percent: UInt8, inside: Bool)])
    func theRolloutTakesTheBucketsBelowItsPercentage(percent: UInt8, inside expected: Bool) {
        #expect(UpdatePolicy.bucket(node: me, manifest: v2.manifest) == 74)
        var p = policy()
        let directive = p.reconcile(facts(notice(2, names: v2, rollout: percent), installed: [v1]))
        #expect(directive == (expected ? .fetchAndInstall(v2.manifest) : .stay(.outsideRollout(percent: percent))))
    }

    @Test func bucketsAreStableAndNestedAsARolloutRamps() {
        var rng = SplitMix64(seed: 9)
        var in10 = 0, in50 = 0
        for _ in 0..<1000 {
            let node = NodeID.random(using: &rng)
            let a = UpdatePolicy.inRollout(node: node, manifest: v2.manifest, percent: 10)
            let b = UpdatePolicy.inRollout(node: node, manifest: v2.manifest, percent: 50)
            #expect(!a || b, "ramping 10% → 50% keeps the first 10% in")
            in10 += a ? 1 : 0
            in50 += b ? 1 : 0
        }
        #expect((60...140).contains(in10))
        #expect((420...580).contains(in50))
    }

    /// The bucket is part of the fleet's behaviour: a change would move nodes in and out of live rollouts.
    /// (The first 8 bytes, little-endian, of BLAKE2b-256(node id big-endian ‖ manifest digest), modulo 100.)
    @Test(arguments: [(low: 1, bucket: 74), (low: 2, bucket: 26), (low: 3, bucket: 76), (low: 4, bucket: 89)] as [(low: UInt64, bucket: Int)])
    func bucketsAreFixedByNodeAndManifest(low: UInt64, bucket: Int) {
        #expect(UpdatePolicy.bucket(node: NodeID(high: 0, low: low), manifest: v2.manifest) == bucket)
    }

    @Test func anOperatorsRollbackHoldsUntilANewerNotice() {
        var p = policy()
        var record = InstallRecord(current: v1, previous: v2)
        record.holdSequence = 2
        #expect(p.reconcile(facts(notice(2, names: v2), record: record)) == .stay(.held(untilAfter: 2)))
        #expect(p.reconcile(facts(notice(3, names: v2), record: record)) == .fetchAndInstall(v2.manifest), "a rollout step after the hold")
    }

    @Test func aFailedVersionIsNotRetriedUntilANewerSequenceNamesIt() {
        var p = policy()
        var record = InstallRecord(current: v1)
        record.failedManifest = v2.manifest
        record.failedSequence = 2
        #expect(p.reconcile(facts(notice(2, names: v2), record: record)) == .stay(.failedBefore(sequence: 2)))
        #expect(p.reconcile(facts(notice(3, names: v2), record: record)) == .fetchAndInstall(v2.manifest))
        #expect(p.reconcile(facts(notice(2, names: v3), record: record)) == .fetchAndInstall(v3.manifest), "another manifest")
    }

    @Test func aNoticeUnderARetiredKeyIsRefusedAndReportedOnce() {
        var p = policy()
        let retired = facts(notice(2, names: v2), installed: [v1], pinned: false, digest: digest("notice 2"))
        #expect(p.reconcile(retired) == .stay(.retiredKey(firstReport: true)))
        #expect(p.reconcile(retired) == .stay(.retiredKey(firstReport: false)))
        var other = retired
        other.signedDigest = digest("notice 3")
        #expect(p.reconcile(other) == .stay(.retiredKey(firstReport: true)))
        #expect(p.reconcile(facts(notice(2, names: v2), installed: [v2], pinned: false)) == .upToDate, "what is installed stays")
    }

    @Test func aSeedOnlyNodeFetchesWhateverTheRulesForInstallsSay() {
        var p = policy(seedOnly: true)
        var record = InstallRecord(current: v2)
        record.holdSequence = 9
        record.failedManifest = v2.manifest
        record.failedSequence = 9
        #expect(p.reconcile(facts(notice(2, names: v2, rollout: 0), record: record)) == .fetchAndSeed(v2.manifest))
        p.seeded(v2.manifest)
        #expect(p.reconcile(facts(notice(2, names: v2), record: record)) == .stay(.alreadySeeded))
        #expect(p.reconcile(facts(notice(2, names: v2), pinned: false)) == .stay(.retiredKey(firstReport: true)))
    }

    @Test func aSeedOnlyNodeHoldsTheNewestTwo() {
        var p = policy(seedOnly: true)
        for v in [v1, v2, v1, v3] { p.seeded(v.manifest) }
        #expect(p.seeded == [v1.manifest, v3.manifest])
    }

    // MARK: - Stagger

    @Test func aFetchFromPeersWaitsForItsStagger() {
        var p = policy(stagger: .seconds(2))
        guard case .waitUntil(let at) = p.startFetch(v2.manifest, chunksMissing: true, now: 10 * second) else {
            Issue.record("no stagger")
            return
        }
        #expect((10 * second ... 12 * second).contains(at))
        #expect(p.startFetch(v2.manifest, chunksMissing: true, now: at - 1) == .waitUntil(at), "woken early: the same time")
        #expect(p.startFetch(v2.manifest, chunksMissing: true, now: at) == .now)
    }

    @Test func aStaggerIsForgottenWhenTheFetchIsNoLongerAskedFor() {
        var p = policy(stagger: .seconds(2))
        #expect(p.reconcile(facts(notice(2, names: v2))) == .fetchAndInstall(v2.manifest))
        guard case .waitUntil(let at) = p.startFetch(v2.manifest, chunksMissing: true, now: 10 * second) else {
            Issue.record("no stagger")
            return
        }
        // Woken at its time to find the rollout narrowed to 0%: it stays, and forgets the stagger.
        #expect(p.reconcile(facts(notice(3, names: v2, rollout: 0))) == .stay(.outsideRollout(percent: 0)))
        // Widened again later: a fresh delay, not a start at once.
        #expect(p.reconcile(facts(notice(4, names: v2))) == .fetchAndInstall(v2.manifest))
        #expect(p.startFetch(v2.manifest, chunksMissing: true, now: at + 60 * second) != .now)
    }

    @Test(arguments: [(missing: false, stagger: Duration.seconds(2)), (missing: true, stagger: .zero), (missing: true, stagger: .seconds(-1))])
    func nothingToFetchOrNoStaggerStartsAtOnce(missing: Bool, stagger: Duration) {
        var p = policy(stagger: stagger)
        #expect(p.startFetch(v2.manifest, chunksMissing: missing, now: second) == .now)
    }

    @Test func eachFetchDrawsItsOwnStaggerFromTheSeed() {
        func first(seed: UInt64) -> UpdatePolicy.FetchStart {
            var p = policy(stagger: .seconds(2), seed: seed)
            return p.startFetch(v2.manifest, chunksMissing: true, now: 0)
        }
        #expect(first(seed: 1) == first(seed: 1))
        #expect(Set((1...20 as ClosedRange<UInt64>).map { "\(first(seed: $0))" }).count > 15, "spread over the stagger")
        var p = policy(stagger: .seconds(2))
        guard case .waitUntil(let a) = p.startFetch(v2.manifest, chunksMissing: true, now: 0) else { return }
        #expect(p.startFetch(v2.manifest, chunksMissing: true, now: a) == .now)
        #expect(p.startFetch(v2.manifest, chunksMissing: true, now: a) != .now, "a retry staggers again")
    }

    // MARK: - Before the install

    @Test(arguments: [
        (newest: notice(2, names: v2), pinned: true, hold: nil, expected: .install),
        (newest: notice(3, names: v3), pinned: true, hold: nil, expected: .superseded(.newerNotice)),
        (newest: nil, pinned: true, hold: nil, expected: .superseded(.newerNotice)),
        (newest: notice(2, names: v2), pinned: false, hold: nil, expected: .superseded(.keyRotation)),
        (newest: notice(2, names: v2), pinned: true, hold: 2, expected: .held),
        (newest: notice(3, names: v2), pinned: true, hold: 2, expected: .install),
        (newest: notice(3, names: v2, rollout: 10), pinned: true, hold: nil, expected: .rolloutNarrowed(percent: 10)),
    ] as [(newest: Notice?, pinned: Bool, hold: UInt64?, expected: UpdatePolicy.BeforeInstall)])
    func theRulesAreCheckedAgainAfterTheDownload(newest: Notice?, pinned: Bool, hold: UInt64?, expected: UpdatePolicy.BeforeInstall) {
        var record = InstallRecord(current: v1)
        record.holdSequence = hold
        #expect(policy().beforeInstall(v2.manifest, newest: newest, signedByPinnedKey: pinned, record: record) == expected)
    }

    // MARK: - After the health check

    @Test func aPassedHealthCheckKeepsTheVersionAndTheOneBefore() {
        var record = InstallRecord(current: v1, previous: v0)
        record.holdSequence = 1
        record.failedManifest = v3.manifest
        record.failedVersion = v3.version
        record.failedSequence = 1
        record.failedReason = "exit 1"
        let after = UpdatePolicy.afterInstall(v2, under: notice(2, names: v2), outcome: .passed, record: record)
        #expect(after == .keep(InstallRecord(current: v2, previous: v1)), "failure and hold cleared")
    }

    @Test func aWithdrawalKeepsNoWayBackToTheWithdrawnVersion() {
        // 1.0.0 then 1.1.0 were installed; 1.1.0 is withdrawn and the notice points back to 1.0.0.
        let back = UpdatePolicy.afterInstall(v1, under: notice(3, names: v1, kind: .withdraw), outcome: .passed,
                                             record: InstallRecord(current: v2, previous: v1))
        #expect(back == .keep(InstallRecord(current: v1)))
    }

    @Test(arguments: [
        (before: InstallRecord(current: v1), restore: .version("1.0.0")),
        (before: InstallRecord(), restore: .nothing),
        (before: InstallRecord(current: .init(version: "1.1.0", manifest: digest("rebuilt"), sequence: 1)), restore: .leaveAsIs),
    ] as [(before: InstallRecord, restore: UpdatePolicy.Restore)])
    func aFailedHealthCheckRollsBackAndRemembersTheFailure(before: InstallRecord, restore: UpdatePolicy.Restore) {
        var failed = before
        failed.failedVersion = "1.1.0"
        failed.failedManifest = v2.manifest
        failed.failedSequence = 2
        failed.failedReason = "exit 3"
        let after = UpdatePolicy.afterInstall(v2, under: notice(2, names: v2), outcome: .failed(reason: "exit 3"), record: before)
        #expect(after == .rollBack(restore, failed))
        var p = policy()
        #expect(p.reconcile(facts(notice(2, names: v2), record: failed)) == .stay(.failedBefore(sequence: 2)), "not tried again")
    }

    // MARK: - An operator's rollback

    @Test func anOperatorRollsBackToThePreviousVersionAndHoldsIt() throws {
        let record = InstallRecord(current: v2, previous: v1)
        let plan = try UpdatePolicy.rollback(record, to: nil).get()
        #expect(plan.from == v2 && plan.to == v1)
        var held = InstallRecord(current: v1, previous: v2)
        held.holdSequence = 5
        #expect(plan.record(holdingAt: 5) == held, "held at the newest accepted notice")
        held.holdSequence = v2.sequence
        #expect(plan.record(holdingAt: nil) == held, "with none, at the sequence it came under")
        #expect(try UpdatePolicy.rollback(record, to: "1.0.0").get() == plan)
    }

    @Test(arguments: [
        (record: InstallRecord(), to: nil, refusal: .notInstalled),
        (record: InstallRecord(current: v2), to: nil, refusal: .nothingKept),
        (record: InstallRecord(current: v2, previous: v1), to: "0.9.0", refusal: .notKept(requested: "0.9.0", current: "1.1.0", previous: "1.0.0")),
    ] as [(record: InstallRecord, to: String?, refusal: UpdatePolicy.RollbackRefusal)])
    func aRollbackIsRefusedWithoutAKeptVersion(record: InstallRecord, to: String?, refusal: UpdatePolicy.RollbackRefusal) {
        #expect(UpdatePolicy.rollback(record, to: to) == .failure(refusal))
    }
}

// MARK: - Fixtures

let second: UInt64 = 1_000_000_000
/// The node under test.
let me = NodeID(high: 0, low: 1)

func digest(_ text: String) -> Digest256 { Blake2b.digest256(Array(text.utf8)) }

/// Versions 0.9.0, 1.0.0, 1.1.0 and 1.2.0, installed under notices 0, 1, 2 and 3.
let v0 = InstallRecord.Installed(version: "0.9.0", manifest: digest("0.9.0"), sequence: 0)
let v1 = InstallRecord.Installed(version: "1.0.0", manifest: digest("1.0.0"), sequence: 1)
let v2 = InstallRecord.Installed(version: "1.1.0", manifest: digest("1.1.0"), sequence: 2)
let v3 = InstallRecord.Installed(version: "1.2.0", manifest: digest("1.2.0"), sequence: 3)

func notice(_ sequence: UInt64, names version: InstallRecord.Installed, rollout: UInt8 = 100, kind: Notice.Kind = .release) -> Notice {
    try! Notice(kind: kind, app: "app", version: SemanticVersion(version.version), sequence: sequence, channel: "stable",
                manifest: version.manifest, size: 1, rollout: rollout, created: 1_700_000_000, expires: 4_000_000_000)
}

/// `installed`: current first, then previous.
func facts(_ notice: Notice, installed: [InstallRecord.Installed] = [], record: InstallRecord? = nil,
           pinned: Bool = true, digest: Digest256 = .zero) -> UpdatePolicy.Facts {
    let record = record ?? InstallRecord(current: installed.first, previous: installed.dropFirst().first)
    return UpdatePolicy.Facts(notice: notice, signedByPinnedKey: pinned, signedDigest: digest, record: record)
}

func policy(seedOnly: Bool = false, stagger: Duration = .seconds(2), seed: UInt64 = 1) -> UpdatePolicy {
    UpdatePolicy(node: me, settings: .init(seedOnly: seedOnly, stagger: stagger), seed: seed)
}
