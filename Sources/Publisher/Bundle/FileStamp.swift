#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// What `lstat` says about a file that changes whenever its bytes may have: device, inode,
/// size, modification and status-change times to the nanosecond.
///
/// The status-change time (`ctime`) is the one that makes a stamp trustworthy: a write
/// moves it to the kernel's clock, and no call lets a user set it back (`touch -d` and
/// `utimensat` restore `mtime` only). So a file whose stamp is unchanged holds the bytes it
/// held when the stamp was taken, unless the system clock itself went backwards.
public struct FileStamp: Hashable, Sendable {
    public var device: UInt64
    public var inode: UInt64
    public var size: UInt64
    public var modified: Timestamp
    public var changed: Timestamp

    /// Seconds and nanoseconds since the epoch, ordered.
    public struct Timestamp: Hashable, Comparable, Sendable {
        public var seconds: Int64
        public var nanoseconds: Int64

        public init(seconds: Int64, nanoseconds: Int64) {
            self.seconds = seconds
            self.nanoseconds = nanoseconds
        }

        public static func < (a: Self, b: Self) -> Bool {
            (a.seconds, a.nanoseconds) < (b.seconds, b.nanoseconds)
        }

        /// The wall clock now.
        public static func now() -> Timestamp {
            var ts = timespec()
            clock_gettime(CLOCK_REALTIME, &ts)
            return Timestamp(seconds: Int64(ts.tv_sec), nanoseconds: Int64(ts.tv_nsec))
        }

        /// This time moved by whole seconds, saturating.
        public func adding(seconds delta: Int64) -> Timestamp {
            Timestamp(seconds: seconds.addingReportingOverflow(delta).overflow
                      ? (delta < 0 ? .min : .max) : seconds + delta,
                      nanoseconds: nanoseconds)
        }
    }

    public init(device: UInt64, inode: UInt64, size: UInt64, modified: Timestamp, changed: Timestamp) {
        self.device = device
        self.inode = inode
        self.size = size
        self.modified = modified
        self.changed = changed
    }

    init(_ st: stat) {
        #if canImport(Darwin)
        let m = st.st_mtimespec, c = st.st_ctimespec
        #else
        let m = st.st_mtim, c = st.st_ctim
        #endif
        self.init(
            device: UInt64(truncatingIfNeeded: st.st_dev), inode: UInt64(truncatingIfNeeded: st.st_ino),
            size: UInt64(clamping: st.st_size),
            modified: Timestamp(seconds: Int64(m.tv_sec), nanoseconds: Int64(m.tv_nsec)),
            changed: Timestamp(seconds: Int64(c.tv_sec), nanoseconds: Int64(c.tv_nsec)))
    }

    /// The stamp of `path` (not following a final symlink), or `nil` if it cannot be read.
    public static func of(_ path: String) -> FileStamp? {
        var st = stat()
        guard lstat(path, &st) == 0 else { return nil }
        return FileStamp(st)
    }

    /// The later of the two times: when the file last changed in any way.
    public var lastChange: Timestamp { max(modified, changed) }
}

/// Which file a path led to: its device and inode.
public struct FileIdentity: Hashable, Sendable {
    public var device: UInt64
    public var inode: UInt64

    public init(device: UInt64, inode: UInt64) {
        self.device = device
        self.inode = inode
    }

    init(_ st: stat) {
        self.init(device: UInt64(truncatingIfNeeded: st.st_dev), inode: UInt64(truncatingIfNeeded: st.st_ino))
    }
}

extension FileStamp {
    public var identity: FileIdentity { FileIdentity(device: device, inode: inode) }
}
