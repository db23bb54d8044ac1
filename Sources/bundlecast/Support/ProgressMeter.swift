#if canImport(Glibc)
import Glibc
#endif
import Foundation

/// Progress on stderr for large bundles, only on a terminal, at most ten
/// updates a second.
final class ProgressMeter {
    private let enabled = isatty(STDERR_FILENO) == 1
    private var last = Date.distantPast
    private var shown = false
    static let threshold: UInt64 = 64 << 20

    func update(done: UInt64, total: UInt64) {
        guard enabled, total >= Self.threshold, Date().timeIntervalSince(last) >= 0.1 else { return }
        last = Date()
        shown = true
        FileHandle.standardError.write(Data("\rhashing \(Format.bytes(done)) of \(Format.bytes(total)) (\(Format.percent(done, of: total)))\u{1B}[K".utf8))
    }

    func finish() {
        if shown { FileHandle.standardError.write(Data("\r\u{1B}[K".utf8)) }
    }
}
