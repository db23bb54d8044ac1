import Foundation

/// The repository root, found from this file's path.
public let repoRoot: String = {
    var url = URL(fileURLWithPath: #filePath)
    for _ in 0..<3 { url.deleteLastPathComponent() }
    return url.path
}()

/// A fresh temporary directory, removed when `body` returns or throws (kept, and named on
/// stderr, when `BUNDLECAST_KEEP_TEST_DIRS` is set: node logs are in it).
public func withTemporaryDirectory<T>(_ body: (String) throws -> T) throws -> T {
    let path = try makeTemporaryDirectory()
    defer { removeUnlessKept(path) }
    return try body(path)
}

/// ``withTemporaryDirectory(_:)`` for async bodies.
public func withTemporaryDirectory<T>(_ body: (String) async throws -> T) async throws -> T {
    let path = try makeTemporaryDirectory()
    defer { removeUnlessKept(path) }
    return try await body(path)
}

private func removeUnlessKept(_ path: String) {
    if ProcessInfo.processInfo.environment["BUNDLECAST_KEEP_TEST_DIRS"] != nil {
        FileHandle.standardError.write(Data("kept \(path)\n".utf8))
    } else {
        try? FileManager.default.removeItem(atPath: path)
    }
}

private func makeTemporaryDirectory() throws -> String {
    let path = NSTemporaryDirectory() + "bundlecast-test-" + UUID().uuidString
    try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    return path
}

/// Writes a text file, creating its directory.
public func write(_ path: String, _ text: String) throws {
    try FileManager.default.createDirectory(
        atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
    try Data(text.utf8).write(to: URL(fileURLWithPath: path))
}

public func readBytes(_ path: String) throws -> [UInt8] {
    [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
}

/// What a finished process said.
public struct ProcessOutcome: Sendable {
    public let code: Int32
    public let stdout: String
    public let stderr: String
}

/// Runs a program to completion, draining both pipes while it runs; a
/// program still running after `timeout` seconds is killed by its pid.
public func runProgram(_ executable: String, _ arguments: [String], in directory: String? = nil,
                       environment: [String: String]? = nil, timeout: TimeInterval = 120) throws -> ProcessOutcome {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: executable)
    process.arguments = arguments
    if let directory { process.currentDirectoryURL = URL(fileURLWithPath: directory) }
    if let environment { process.environment = environment }
    let out = Pipe()
    let err = Pipe()
    process.standardOutput = out
    process.standardError = err
    process.standardInput = FileHandle.nullDevice
    try process.run()
    let group = DispatchGroup()
    nonisolated(unsafe) var outData = Data()
    nonisolated(unsafe) var errData = Data()
    DispatchQueue.global().async(group: group) { outData = out.fileHandleForReading.readDataToEndOfFile() }
    DispatchQueue.global().async(group: group) { errData = err.fileHandleForReading.readDataToEndOfFile() }
    if group.wait(timeout: .now() + timeout) == .timedOut {
        kill(process.processIdentifier, SIGKILL)
        group.wait()
    }
    process.waitUntilExit()
    return ProcessOutcome(code: process.terminationStatus, stdout: String(decoding: outData, as: UTF8.self),
                          stderr: String(decoding: errData, as: UTF8.self))
}
