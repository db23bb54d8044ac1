import ArgumentParser

/// Why a command-line value was refused, shown by ArgumentParser after
/// "The value 'X' is invalid for '--option <name>': ".
struct ArgumentError: Error, CustomStringConvertible, Equatable {
    let description: String
    init(_ description: String) { self.description = description }
}

/// A value typed on the command line: parsed once, when the arguments are read, and refused
/// with a reason (declare the option with `transform: T.parse` so the reason is shown; a bare
/// `ExpressibleByArgument` failure only names the option).
protocol ArgumentValue: ExpressibleByArgument, CustomStringConvertible, Sendable {
    init(parsing text: String) throws(ArgumentError)
}

extension ArgumentValue {
    init?(argument: String) { try? self.init(parsing: argument) }
    var defaultValueDescription: String { description }
    static func parse(_ text: String) throws -> Self { try Self(parsing: text) }
}
