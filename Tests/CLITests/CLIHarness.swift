@_exported import TestSupport
import Foundation
import Testing


/// What a finished process said.
struct Outcome {
    let code: Int32
    let stdout: String
    let stderr: String

    /// Errors are one line on stderr.
    var errorLine: String {
        let lines = stderr.split(separator: "\n")
        #expect(lines.count == 1, "expected one error line, got: \(stderr)")
        return lines.first.map(String.init) ?? ""
    }
}

/// Runs a program with the environment of a clean shell: no passphrase, no SOURCE_DATE_EPOCH.
func run(_ executable: String, _ arguments: [String], in directory: String? = nil, environment: [String: String] = [:], timeout: TimeInterval = 120) throws -> Outcome {
    var env = ProcessInfo.processInfo.environment
    env.removeValue(forKey: "BUNDLECAST_PASSPHRASE")
    env.removeValue(forKey: "SOURCE_DATE_EPOCH")
    for (k, v) in environment { env[k] = v }
    let r = try runProgram(executable, arguments, in: directory, environment: env, timeout: timeout)
    return Outcome(code: r.code, stdout: r.stdout, stderr: r.stderr)
}

let bundlecastPath = repoRoot + "/.build/debug/bundlecast"

func bundlecast(_ arguments: String..., in directory: String? = nil, environment: [String: String] = [:]) throws -> Outcome {
    try run(bundlecastPath, arguments, in: directory, environment: environment)
}

func minisign(_ arguments: String..., in directory: String? = nil) throws -> Outcome {
    try run("/usr/bin/minisign", arguments, in: directory)
}

/// Copies the sample bundle and the demo key into `dir`.
func setUpSample(_ dir: String) throws {
    let fm = FileManager.default
    try fm.copyItem(atPath: repoRoot + "/Samples", toPath: dir + "/Samples")
    try fm.createDirectory(atPath: dir + "/Keys", withIntermediateDirectories: true)
    for ext in ["pub", "key"] {
        try fm.copyItem(atPath: repoRoot + "/Keys/demo-test-only." + ext, toPath: dir + "/Keys/demo." + ext)
    }
}
