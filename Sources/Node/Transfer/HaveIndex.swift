import BundlecastCore

/// The distinct chunk lists of the manifests peers ask about, so that a have-query (one a
/// second per peer and download) does not parse its manifest again.
///
/// Bounded by entries and by digests held in all; the oldest goes first, one at a time, so
/// a peer cycling through more manifests than fit makes the node parse only the one it
/// asks about, never empties the cache for the others.
struct HaveIndex {
    static let maxEntries = 32
    /// 32 MiB of digests: a 16 GiB bundle's list fits, with room for the common case.
    static let maxDigests = 1 << 20

    private var lists: [Digest256: [Digest256]] = [:]
    private var order: [Digest256] = []
    private(set) var digests = 0

    func list(of manifest: Digest256) -> [Digest256]? { lists[manifest] }

    var count: Int { lists.count }

    mutating func insert(_ list: [Digest256], for manifest: Digest256) {
        guard lists[manifest] == nil, list.count <= Self.maxDigests else { return }
        while !order.isEmpty, order.count >= Self.maxEntries || digests + list.count > Self.maxDigests {
            let oldest = order.removeFirst()
            digests -= lists.removeValue(forKey: oldest)?.count ?? 0
        }
        lists[manifest] = list
        order.append(manifest)
        digests += list.count
    }
}
