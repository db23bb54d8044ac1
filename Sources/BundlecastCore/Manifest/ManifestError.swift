/// A manifest that is not valid, or not in its one canonical byte form.
public struct ManifestError: Error, Equatable, CustomStringConvertible {
    /// 1-based line of the manifest text, when parsing.
    public let line: Int?
    public let message: String

    public init(line: Int? = nil, _ message: String) {
        self.line = line
        self.message = message
    }

    public var description: String {
        if let line { return "manifest line \(line): \(message)" }
        return "manifest: \(message)"
    }
}
