import BundlecastCore
import Foundation
import Publisher
import Testing

@Suite struct WithdrawTests {
    func release(_ releaser: Releaser, _ dir: String, _ version: String) throws -> Notice {
        try write(dir + "/bundle/a.txt", "content of \(version)")
        let request = ReleaseRequest(bundle: dir + "/bundle", app: "demo", version: try SemanticVersion(version), created: 1_800_000_000)
        return try releaser.release(request, key: testKey).notice.notice
    }

    func release(_ releaser: Releaser, _ dir: String, _ version: String, channel: String) throws -> Notice {
        try write(dir + "/bundle/a.txt", "content of \(version)")
        var request = ReleaseRequest(bundle: dir + "/bundle", app: "demo", version: try SemanticVersion(version), created: 1_800_000_000)
        request.channel = channel
        request.allowDowngrade = true
        return try releaser.release(request, key: testKey).notice.notice
    }

    func withdraw(_ releaser: Releaser, _ version: String, to: String? = nil) throws -> Notice {
        try releaser.withdraw(app: "demo", version: SemanticVersion(version), to: to.map { try SemanticVersion($0) },
                              key: testKey, created: 1_800_000_100, lifetime: 3600).notice.notice
    }

    @Test func aWithdrawalPointsBackToTheNewestEarlierReleaseWithTheNextSequence() throws {
        try withTemporaryDirectory { dir in
            let releaser = Releaser(store: ManifestStore(root: dir + "/Manifests"))
            let v1 = try release(releaser, dir, "1.0.0")
            _ = try release(releaser, dir, "1.1.0")
            let w = try withdraw(releaser, "1.1.0")
            #expect(w.kind == .withdraw && w.version == v1.version && w.manifest == v1.manifest && w.size == v1.size)
            #expect(w.sequence == 3 && w.rollout == 100 && w.channel == v1.channel)
            #expect(FileManager.default.fileExists(atPath: dir + "/Manifests/demo/1.0.0.manifest.3.minisig"))
            #expect(Releaser.withdrawnVersions(try releaser.store.notices(app: "demo").map(\.notice.notice), channel: "stable") == [try SemanticVersion("1.1.0")])
            // Not again, not brought back by a rollout; the next release must be a new version.
            #expect(throws: ReleaseError.self) { try withdraw(releaser, "1.1.0") }
            #expect(throws: ReleaseError.self) {
                try releaser.rollout(app: "demo", version: SemanticVersion("1.1.0"), percent: 100, key: testKey, created: 1_800_000_200, lifetime: 60)
            }
            #expect(try release(releaser, dir, "1.1.1").sequence == 4)
        }
    }

    @Test func aWithdrawalSkipsWithdrawnReleasesAndChecksItsTarget() throws {
        try withTemporaryDirectory { dir in
            let releaser = Releaser(store: ManifestStore(root: dir + "/Manifests"))
            #expect(throws: ReleaseError.self) { try withdraw(releaser, "1.0.0") }  // nothing released
            let v1 = try release(releaser, dir, "1.0.0")
            #expect(throws: ReleaseError.self) { try withdraw(releaser, "1.0.0") }  // nothing earlier
            _ = try release(releaser, dir, "1.1.0")
            _ = try withdraw(releaser, "1.1.0")
            _ = try release(releaser, dir, "1.2.0")
            #expect(throws: ReleaseError.self) { try withdraw(releaser, "1.1.0") }  // not what the fleet is sent
            #expect(throws: ReleaseError.self) { try withdraw(releaser, "1.2.0", to: "1.1.0") }  // itself withdrawn
            #expect(throws: ReleaseError.self) { try withdraw(releaser, "1.2.0", to: "1.2.0") }  // not earlier
            #expect(throws: ReleaseError.self) { try withdraw(releaser, "1.2.0", to: "0.9.0") }  // never released
            let w = try withdraw(releaser, "1.2.0")
            #expect(w.version == v1.version && w.manifest == v1.manifest, "1.1.0 was withdrawn: back to 1.0.0")
        }
    }

    @Test func aWithdrawalStaysOnItsChannelAndMarksOnlyTheWithdrawnVersion() throws {
        try withTemporaryDirectory { dir in
            let releaser = Releaser(store: ManifestStore(root: dir + "/Manifests"))
            let v1 = try release(releaser, dir, "1.0.0", channel: "stable")
            _ = try release(releaser, dir, "1.0.5", channel: "stable")
            _ = try release(releaser, dir, "1.1.0-rc.1", channel: "beta")
            _ = try release(releaser, dir, "1.1.0", channel: "stable")
            _ = try release(releaser, dir, "2.0.0-beta.1", channel: "beta")
            // The newest notice is beta's; stable's 1.1.0 can still be withdrawn, and only to a stable release.
            #expect(throws: ReleaseError.self, "1.1.0-rc.1 went out on beta only") { try withdraw(releaser, "1.1.0", to: "1.1.0-rc.1") }
            let w = try withdraw(releaser, "1.1.0", to: "1.0.0")
            #expect(w.channel == "stable" && w.version == v1.version && w.sequence == 6)
            let notices = try releaser.store.notices(app: "demo").map(\.notice.notice)
            #expect(Releaser.withdrawnVersions(notices, channel: "stable") == [try SemanticVersion("1.1.0")], "1.0.5 was skipped, not withdrawn")
            #expect(Releaser.withdrawnVersions(notices, channel: "beta").isEmpty)
            #expect(throws: Never.self) {
                try releaser.rollout(app: "demo", version: SemanticVersion("2.0.0-beta.1"), percent: 50, key: testKey, created: 1_800_000_300, lifetime: 60)
            }
        }
    }
}

/// Sequences and epochs read from files or an origin may be 2^64-1: the next one is refused, not overflowed.
@Suite struct ExhaustedCounterTests {
    /// Past the highest sequence nodes and origins accept (2^63-1) nothing more is signed.
    @Test func aRolloutOrWithdrawalAfterTheHighestSequenceIsRefused() throws {
        try withTemporaryDirectory { dir in
            let releaser = Releaser(store: ManifestStore(root: dir + "/Manifests"))
            try write(dir + "/bundle/a.txt", "one")
            _ = try releaser.release(ReleaseRequest(bundle: dir + "/bundle", app: "demo", version: try SemanticVersion("1.0.0"), created: 1_800_000_000), key: testKey)
            try write(dir + "/bundle/a.txt", "two")
            var request = ReleaseRequest(bundle: dir + "/bundle", app: "demo", version: try SemanticVersion("1.1.0"), created: 1_800_000_000)
            request.sequence = Notice.maxSequence
            _ = try releaser.release(request, key: testKey)
            #expect(throws: ReleaseError.self) {
                try releaser.rollout(app: "demo", version: SemanticVersion("1.1.0"), percent: 50, key: testKey, created: 1_800_000_100, lifetime: 60)
            }
            #expect(throws: ReleaseError.self) {
                try releaser.withdraw(app: "demo", version: SemanticVersion("1.1.0"), to: nil, key: testKey, created: 1_800_000_100, lifetime: 60)
            }
        }
    }

    @Test func aRotationAboveTheOriginsLastEpochIsRefused() throws {
        try withTemporaryDirectory { dir in
            let files = RotationFiles(store: ManifestStore(root: dir + "/Manifests"))
            let old = SecretKey.fromSeed([UInt8](repeating: 1, count: 32), keyID: KeyID(bytes: [1, 1, 1, 1, 1, 1, 1, 1])!)
            let new = SecretKey.fromSeed([UInt8](repeating: 2, count: 32), keyID: KeyID(bytes: [2, 2, 2, 2, 2, 2, 2, 2])!)
            // What a hostile or broken origin may answer for the app's epoch.
            #expect(throws: ReleaseError.self) {
                try files.rotate(app: "demo", old: old, new: new, created: 1_800_000_000, origin: (old.keyID, UInt64.max))
            }
        }
    }
}
