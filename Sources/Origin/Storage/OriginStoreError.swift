/// Why the origin's database cannot be used; each says what to do.
public struct OriginStoreError: Error, CustomStringConvertible, Equatable {
    public let message: String

    public init(_ message: String) { self.message = message }

    public var description: String { message }
}
