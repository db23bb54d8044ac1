import BundlecastCore
import Foundation
@testable import Node
import Testing
import TestSupport

@Suite struct ManifestCacheTests {
    /// A manifest file damaged on disk reads as not held, and the next good copy replaces it.
    @Test func aDamagedManifestFileIsReplacedByTheNextGoodCopy() throws {
        try withTemporaryDirectory { dir in
            let (manifest, _) = try InstallerTests.fixture(dir + "/fixture")
            let cache = try ManifestCache(root: dir + "/manifests")
            let bytes = manifest.encoded()
            try cache.put(bytes, digest: manifest.digest)
            var damaged = bytes
            damaged[damaged.count / 2] ^= 1
            try Data(damaged).write(to: URL(fileURLWithPath: cache.path(of: manifest.digest)))
            #expect(cache.bytes(manifest.digest) == nil)
            try cache.put(bytes, digest: manifest.digest)
            #expect(cache.bytes(manifest.digest) == bytes)
        }
    }
}
