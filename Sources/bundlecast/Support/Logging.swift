import ArgumentParser
import Foundation
import Logging

/// `--log-level` takes swift-log's level names, and a wrong one is refused with the list.
extension Logger.Level: @retroactive ExpressibleByArgument {}

/// Logs to stderr at `level`, for the long-running commands.
func bootstrapLogging(_ level: Logger.Level) {
    LoggingSystem.bootstrap { label in StderrLogHandler(label: label, logLevel: level) }
}

/// One line per event on stderr, as swift-log's `StreamLogHandler` writes it but with the
/// time to the millisecond in UTC: a fleet's events (a notice accepted, a download started,
/// an install) come milliseconds apart, and operators line up the logs of many nodes.
struct StderrLogHandler: LogHandler {
    let label: String
    var logLevel: Logger.Level
    var metadata: Logger.Metadata = [:]
    var metadataProvider: Logger.MetadataProvider?

    init(label: String, logLevel: Logger.Level) {
        self.label = label
        self.logLevel = logLevel
    }

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        var merged = metadata
        if let provided = metadataProvider?.get() { merged.merge(provided) { _, new in new } }
        if let extra = event.metadata { merged.merge(extra) { _, new in new } }
        if let error = event.error {
            merged["error.message"] = "\(error)"
            merged["error.type"] = "\(String(reflecting: type(of: error)))"
        }
        let fields = merged.isEmpty ? "" : " " + merged.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " ")
        let line = "\(Self.timestamp()) \(event.level) \(label):\(fields) [\(event.source)] \(event.message)\n"
        // One write(2) per line, so lines from several threads do not interleave; a failed
        // write (a full disk behind a redirect, a closed stderr) is dropped, never a crash.
        var bytes = Array(line.utf8)
        _ = bytes.withUnsafeMutableBytes { write(STDERR_FILENO, $0.baseAddress, $0.count) }
    }

    /// `2026-12-06T07:19:39.123Z`.
    static func timestamp() -> String {
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        var seconds = now.tv_sec
        var parts = tm()
        gmtime_r(&seconds, &parts)
        return String(format: "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", Int(parts.tm_year) + 1900, Int(parts.tm_mon) + 1, Int(parts.tm_mday),
                      Int(parts.tm_hour), Int(parts.tm_min), Int(parts.tm_sec), Int(now.tv_nsec / 1_000_000))
    }
}
