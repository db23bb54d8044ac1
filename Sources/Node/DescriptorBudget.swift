import Foundation

/// How many connections a listener may hold, given the process's descriptor limit.
///
/// Each connection holds a descriptor, and the node needs others for its transfer and
/// gossip sockets, packs, staged trees and the database. A listener's fixed cap only
/// protects the rest when the soft limit (raised to the hard one at start) is well above
/// it, which it is not everywhere (a hard limit of 4,096 is common): so a listener takes at
/// most `1/fraction` of the limit in force (but at least 16 connections, if its cap allows).
enum DescriptorBudget {
    static func connections(cap: Int, fraction: Int) -> Int {
        var limit = rlimit()
        guard getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0, limit.rlim_cur != rlim_t.max else { return cap }
        let share = Int(clamping: limit.rlim_cur / rlim_t(max(1, fraction)))
        return min(cap, max(16, share))
    }
}
