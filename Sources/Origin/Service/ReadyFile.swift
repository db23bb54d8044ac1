import Foundation

/// `ready.json`: written once a listener serves, so scripts and tests read
/// the ports instead of guessing them.
public struct ReadyFile: Codable, Sendable, Equatable {
    /// The HTTP port the origin listens on.
    public var http: Int
    public var pid: Int32

    public init(http: Int, pid: Int32) {
        self.http = http
        self.pid = pid
    }

    /// Writes atomically: a reader sees the whole file or none.
    public func write(to path: String) throws {
        let data = try JSONEncoder().encode(self)
        try data.write(to: URL(fileURLWithPath: path), options: .atomic)
    }

    public static func read(_ path: String) throws -> ReadyFile {
        try JSONDecoder().decode(ReadyFile.self, from: Data(contentsOf: URL(fileURLWithPath: path)))
    }
}
