import Foundation
@testable import Node
import Testing
import TestSupport

@Suite struct HealthCheckTests {
    /// Whether `pid` is still a live process (a zombie waiting for its reaper counts as gone).
    static func alive(_ pid: Int32) -> Bool {
        guard kill(pid, 0) == 0 else { return false }
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
              let close = stat.lastIndex(of: ")") else { return true }
        return !stat[stat.index(after: close)...].trimmingCharacters(in: .whitespaces).hasPrefix("Z")
    }

    @Test func aTimedOutHealthCheckLeavesNoChildOfTheShellRunning() throws {
        try withTemporaryDirectory { dir in
            let pids = dir + "/pids"
            // Two background children; the shell itself then waits for them.
            let check = HealthCheck(command: "sleep 1000 & echo $! >> '\(pids)'; sleep 1000 & echo $! >> '\(pids)'; wait",
                                    timeout: .milliseconds(500))
            let failure = check.run(environment: [:])
            let children = (try? String(contentsOfFile: pids, encoding: .utf8))?.split(separator: "\n").compactMap { Int32($0) } ?? []
            // Whatever the outcome, nothing this test started outlives it.
            defer { for pid in children where Self.alive(pid) { kill(pid, SIGKILL) } }
            #expect(failure?.contains("timed out") == true, "\(failure ?? "passed")")
            #expect(children.count == 2)
            let deadline = Date().addingTimeInterval(5)
            while children.contains(where: Self.alive), Date() < deadline { usleep(10_000) }
            #expect(children.filter(Self.alive).isEmpty, "left running: \(children.filter(Self.alive))")
        }
    }

    @Test func aPassingAndAFailingHealthCheck() throws {
        #expect(HealthCheck(command: "test \"$BUNDLECAST_APP\" = demo", timeout: .seconds(10)).run(environment: ["BUNDLECAST_APP": "demo"]) == nil)
        #expect(HealthCheck(command: "exit 3", timeout: .seconds(10)).run(environment: [:]) == "--on-install exited with status 3")
    }
}
