import ArgumentParser

extension ArgumentHelp {
    /// Help for an option parsed with `transform:`, for which ArgumentParser shows no
    /// default: the default is written as ArgumentParser writes it for the others.
    static func withDefault(_ abstract: String, valueName: String, _ value: some CustomStringConvertible) -> ArgumentHelp {
        ArgumentHelp("\(abstract) (default: \(value))", valueName: valueName)
    }
}
