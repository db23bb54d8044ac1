import Foundation

/// Each peer, transfer, open page or long-poll takes a descriptor, and the usual soft
/// limit of 1024 is far below what the node's caps allow or an origin's fleet needs: the
/// soft limit goes up to the hard one, as servers commonly do.
func raiseOpenFileLimit() {
    var limit = rlimit()
    guard getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0, limit.rlim_cur < limit.rlim_max else { return }
    limit.rlim_cur = limit.rlim_max
    _ = setrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit)
}
