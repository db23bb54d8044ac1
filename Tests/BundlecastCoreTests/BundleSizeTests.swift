import BundlecastCore
@testable import Publisher
import Testing

@Suite struct BundleSizeTests {
    @Test func fileSizesThatOverflowWhenSummedAreRefusedBeforeHashing() {
        // lstat sizes of sparse files: 2^63 + 2^63 overflowed the sum that sizes the progress.
        let items = [ScannedItem(path: "a", kind: .file(size: 1 << 63, executable: false)),
                     ScannedItem(path: "b", kind: .file(size: 1 << 63, executable: false))]
        #expect(throws: ManifestError.self) { try BundleHasher().entries(for: items, root: "/nonexistent") }
    }
}
