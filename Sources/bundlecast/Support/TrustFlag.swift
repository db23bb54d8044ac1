import BundlecastCore

/// `--trust APP=Keys/NAME.pub`: an app and the file of the publisher key to pin for it.
struct TrustFlag: ArgumentValue {
    let app: String
    let keyPath: String

    init(parsing text: String) throws(ArgumentError) {
        guard let eq = text.firstIndex(of: "="), eq != text.startIndex, text.index(after: eq) != text.endIndex else {
            throw ArgumentError("\"\(text)\" is not APP=KEYFILE")
        }
        app = String(text[..<eq])
        keyPath = String(text[text.index(after: eq)...])
        do { try Identifier.validateApp(app) } catch { throw ArgumentError(error.description) }
    }

    var description: String { "\(app)=\(keyPath)" }
}
