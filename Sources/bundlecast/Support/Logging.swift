import Logging

/// Logs to stderr at `level` (a validated `--log-level`), for the long-running commands.
func bootstrapLogging(_ level: String) {
    let level = Logger.Level(rawValue: level) ?? .info
    LoggingSystem.bootstrap { label in
        var handler = StreamLogHandler.standardError(label: label)
        handler.logLevel = level
        return handler
    }
}
