import BundlecastCore
import Foundation
import Policy
import Synchronization

/// The versions of each app this node has installed (current and previous) and their
/// trees, for the content server; and the install events its pages listen to.
///
/// The updater records every app's install record each time it changes (install, rollback,
/// start-up), so answering a request never reads the database; a tree's manifest is read
/// from the manifest cache once, on the first request for that version.
public final class InstalledReleases: Sendable {
    /// An install or rollback as the event stream tells it.
    public struct Change: Sendable, Equatable, Codable {
        public var app: String
        public var version: String
        public var sequence: UInt64
        /// The version it replaced (nil: the first install).
        public var previous: String?
    }

    private struct Installed: Equatable {
        var current: InstallRecord.Installed?
        var previous: InstallRecord.Installed?
    }

    private struct Inner {
        var apps: [String: Installed] = [:]
        /// Trees by manifest digest, for the versions kept (current and previous) only.
        var trees: [Digest256: ReleaseTree] = [:]
    }

    public let appsRoot: String
    /// The apps this node follows: the only ones served.
    public let apps: Set<String>
    let manifests: ManifestCache
    private let inner = Mutex(Inner())
    /// Serialises reading a record and taking it, with its event: a record read before a
    /// rollback cannot land after the rollback's own, and events leave in order.
    private let updating = NSLock()
    /// Those who hear of each install: the event streams.
    let events: InstallEventHub

    public init(apps: [String], appsRoot: String, manifests: ManifestCache, events: InstallEventHub = InstallEventHub()) {
        self.apps = Set(apps)
        self.appsRoot = appsRoot
        self.manifests = manifests
        self.events = events
    }

    /// Reads an app's install record (nil: it could not be read, nothing changes) and takes
    /// it, in one step with every other refresh; returns what was read.
    @discardableResult
    public func refresh(app: String, read: () -> InstallRecord?) -> InstallRecord? {
        updating.withLock {
            guard let record = read() else { return nil }
            take(app: app, record)
            return record
        }
    }

    /// Takes an app's install record; a new current version is told to the event streams.
    public func record(app: String, _ record: InstallRecord) {
        updating.withLock { take(app: app, record) }
    }

    private func take(app: String, _ record: InstallRecord) {
        let now = Installed(current: record.current, previous: record.previous)
        let change: Change? = inner.withLock { s in
            let before = s.apps[app]
            guard before != now else { return nil }
            s.apps[app] = now
            let kept = Set(s.apps.values.flatMap { [$0.current?.manifest, $0.previous?.manifest].compactMap { $0 } })
            s.trees = s.trees.filter { kept.contains($0.key) }
            // The first record of a run is the state at start, not news.
            guard let before, let current = now.current, current != before.current else { return nil }
            return Change(app: app, version: current.version, sequence: current.sequence, previous: before.current?.version)
        }
        if let change { events.publish(change) }
    }

    /// The version `current` points at.
    public func current(app: String) -> Change? {
        inner.withLock { s in
            guard let current = s.apps[app]?.current else { return nil }
            return Change(app: app, version: current.version, sequence: current.sequence, previous: nil)
        }
    }

    /// The manifest digest of an installed version (current or previous).
    public func digest(app: String, version: String) -> Digest256? {
        inner.withLock { s in
            guard let installed = s.apps[app] else { return nil }
            if let current = installed.current, current.version == version { return current.manifest }
            if let previous = installed.previous, previous.version == version { return previous.manifest }
            return nil
        }
    }

    /// The tree of an installed version (current or previous); nil for any other.
    public func tree(app: String, version: String) -> ReleaseTree? {
        guard let digest = digest(app: app, version: version) else { return nil }
        if let tree = inner.withLock({ $0.trees[digest] }) { return tree }
        guard let manifest = manifests.manifest(digest), manifest.app == app, manifest.version.description == version else { return nil }
        let tree = ReleaseTree(manifest: manifest, root: appsRoot + "/" + app + "/" + version)
        inner.withLock { s in
            // Only while the version is still kept (an install may have moved on meanwhile).
            let kept = s.apps.values.contains { $0.current?.manifest == digest || $0.previous?.manifest == digest }
            if kept { s.trees[digest] = tree }
        }
        return tree
    }
}
