import Foundation
import Publisher

/// A bearer token kept in a file (its first line), as `--admin-token` and `--serve-token` take it.
enum TokenFile {
    static let minimumLength = 16

    static func read(_ path: String, option: String) throws -> String {
        let text = String(decoding: try PosixFile.readAll(path, limit: 4096), as: UTF8.self)
        // Split on any line end: Swift reads "\r\n" as one character, which a split on "\n" misses.
        let token = text.split(whereSeparator: \.isNewline).first.map { $0.trimmingCharacters(in: .whitespaces) } ?? ""
        guard token.utf8.count >= minimumLength else {
            throw Failure("\(path): the \(option) token must be at least \(minimumLength) characters on its first line")
        }
        return token
    }
}
