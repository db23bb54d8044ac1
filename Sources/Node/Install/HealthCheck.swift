import Foundation

/// The `--on-install` health check: `/bin/sh -c COMMAND` with the install's
/// details in its environment; a non-zero exit or the time-out fails it.
///
/// The shell runs in a process group of its own and a time-out kills the whole
/// group: killing only `sh` would leave what it started (`server & sleep 1000`)
/// running, holding ports and files, long after the check was given up.
struct HealthCheck: Sendable {
    let command: String
    let timeout: Duration

    /// Runs the check to its end or its time-out; nil when it passed, else why it failed.
    func run(environment extra: [String: String]) -> String? {
        let environment = ProcessInfo.processInfo.environment.merging(extra) { _, new in new }
        var pid: pid_t = 0
        let spawned = Self.spawn(["/bin/sh", "-c", command], environment: environment, pid: &pid)
        guard spawned == 0 else { return "cannot run --on-install: \(String(cString: strerror(spawned)))" }
        let deadline = ContinuousClock.now + timeout
        var status: Int32 = 0
        while true {
            let done = waitpid(pid, &status, WNOHANG)
            if done == pid { break }
            if done == -1 && errno != EINTR { return "cannot wait for --on-install: \(String(cString: strerror(errno)))" }
            if ContinuousClock.now >= deadline {
                // The group's id is the shell's pid (POSIX_SPAWN_SETPGROUP with 0).
                kill(-pid, SIGKILL)
                while waitpid(pid, &status, 0) == -1 && errno == EINTR {}
                return "--on-install timed out after \(timeout)"
            }
            usleep(20_000)
        }
        // The wait status: the low 7 bits are the signal that ended it, if any; else bits 8-15 are the exit code.
        if status & 0x7f != 0 { return "--on-install was killed by signal \(status & 0x7f)" }
        let code = (status >> 8) & 0xff
        return code == 0 ? nil : "--on-install exited with status \(code)"
    }

    /// Starts `arguments` as the leader of a new process group, with the signals the node
    /// ignores or blocks (SIGPIPE; SIGINT and SIGTERM are handled by the node) back at their defaults.
    /// Returns 0, or the error number.
    private static func spawn(_ arguments: [String], environment: [String: String], pid: inout pid_t) -> Int32 {
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var defaults = sigset_t()
        sigemptyset(&defaults)
        for signal in [SIGPIPE, SIGINT, SIGTERM, SIGHUP, SIGQUIT] { sigaddset(&defaults, signal) }
        var mask = sigset_t()
        sigemptyset(&mask)
        posix_spawnattr_setsigdefault(&attributes, &defaults)
        posix_spawnattr_setsigmask(&attributes, &mask)
        posix_spawnattr_setpgroup(&attributes, 0)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK))
        let argv = arguments.map { strdup($0) } + [nil]
        let envp = environment.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer { for p in argv + envp { free(p) } }
        return posix_spawn(&pid, arguments[0], nil, &attributes, argv, envp)
    }
}
