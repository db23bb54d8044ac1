import Foundation

/// The `--on-install` health check: `/bin/sh -c COMMAND` with the install's
/// details in its environment; a non-zero exit or the time-out fails it.
struct HealthCheck: Sendable {
    let command: String
    let timeout: Duration

    /// Runs the check to its end or its time-out; nil when it passed, else why it failed.
    func run(environment extra: [String: String]) -> String? {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/sh")
        process.arguments = ["-c", command]
        process.environment = ProcessInfo.processInfo.environment.merging(extra) { _, new in new }
        do { try process.run() } catch { return "cannot run --on-install: \(error)" }
        let deadline = ContinuousClock.now + timeout
        while process.isRunning {
            if ContinuousClock.now >= deadline {
                kill(process.processIdentifier, SIGKILL)
                process.waitUntilExit()
                return "--on-install timed out after \(timeout)"
            }
            usleep(20_000)
        }
        return process.terminationStatus == 0 ? nil : "--on-install exited with status \(process.terminationStatus)"
    }
}
