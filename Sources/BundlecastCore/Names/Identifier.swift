/// App names and channel names: 1 to 64 bytes of `[A-Za-z0-9._-]`, starting
/// with a letter or digit. Short, safe in a file path, a URL segment and a
/// notice's trusted comment.
public enum Identifier {
    public static let maxLength = 64

    /// `nil` if valid, else why not.
    public static func problem(_ name: String) -> String? {
        let utf8 = Array(name.utf8)
        guard !utf8.isEmpty else { return "is empty" }
        guard utf8.count <= maxLength else { return "is longer than \(maxLength) characters" }
        guard isAlnum(utf8[0]) else { return "must start with a letter or digit" }
        for c in utf8 where !(isAlnum(c) || c == UInt8(ascii: ".") || c == UInt8(ascii: "_") || c == UInt8(ascii: "-")) {
            return "may contain only letters, digits, '.', '_' and '-'"
        }
        return nil
    }

    static func isAlnum(_ c: UInt8) -> Bool {
        (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5A) || (c >= 0x61 && c <= 0x7A)
    }
}

/// An invalid app name, channel name or version.
public struct NameError: Error, Equatable, CustomStringConvertible {
    public let what: String
    public let value: String
    public let problem: String

    public var description: String { "\(what) \"\(value)\" \(problem)" }
}

extension Identifier {
    public static func validateApp(_ name: String) throws(NameError) {
        if let p = problem(name) { throw NameError(what: "app name", value: name, problem: p) }
    }

    public static func validateChannel(_ name: String) throws(NameError) {
        if let p = problem(name) { throw NameError(what: "channel", value: name, problem: p) }
    }
}
