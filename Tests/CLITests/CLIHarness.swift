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

/// Runs a program to completion with a deadline, killing it (by pid) if it overruns.
func run(_ executable: String, _ arguments: [String], in directory: String? = nil, environment: [String: String] = [:], timeout: TimeInterval = 120) throws -> Outcome {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: executable)
    process.arguments = arguments
    if let directory { process.currentDirectoryURL = URL(fileURLWithPath: directory) }
    var env = ProcessInfo.processInfo.environment
    env.removeValue(forKey: "BUNDLECAST_PASSPHRASE")
    env.removeValue(forKey: "SOURCE_DATE_EPOCH")
    for (k, v) in environment { env[k] = v }
    process.environment = env
    let out = Pipe()
    let err = Pipe()
    process.standardOutput = out
    process.standardError = err
    process.standardInput = FileHandle.nullDevice
    try process.run()
    // Drain both pipes while the process runs so a full pipe cannot block it.
    let group = DispatchGroup()
    nonisolated(unsafe) var outData = Data()
    nonisolated(unsafe) var errData = Data()
    DispatchQueue.global().async(group: group) { outData = out.fileHandleForReading.readDataToEndOfFile() }
    DispatchQueue.global().async(group: group) { errData = err.fileHandleForReading.readDataToEndOfFile() }
    if group.wait(timeout: .now() + timeout) == .timedOut {
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
        Issue.record("\(executable) \(arguments) ran over \(timeout) s and was killed")
    }
    process.waitUntilExit()
    return Outcome(code: process.terminationStatus,
                   stdout: String(decoding: outData, as: UTF8.self),
                   stderr: String(decoding: errData, as: UTF8.self))
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
