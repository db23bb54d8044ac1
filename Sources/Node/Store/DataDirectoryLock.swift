#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// One node per data directory: two on the same chunk store and database would interleave
/// their writes. The lock is `flock` on `DATA/node.lock`, which the kernel drops when the
/// process dies however it dies, so a crash never leaves a directory locked.
final class DataDirectoryLock: Sendable {
    private let fd: Int32

    /// Takes the lock, or throws at once when another node holds it.
    init(directory: String) throws {
        let path = directory + "/node.lock"
        fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard fd >= 0 else {
            throw NodeStoreError("cannot open \(path): \(String(cString: strerror(errno)))")
        }
        guard flock(fd, LOCK_EX | LOCK_NB) == 0 else {
            let reason = errno == EWOULDBLOCK
                ? "another node is running on \(directory); stop it first, or give this node its own --data"
                : "cannot lock \(path): \(String(cString: strerror(errno)))"
            close(fd)
            throw NodeStoreError(reason)
        }
    }

    deinit { close(fd) }
}
