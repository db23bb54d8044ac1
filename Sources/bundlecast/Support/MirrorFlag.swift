import BundlecastCore
import Node

/// `--mirror APP=URL`: an HTTP mirror of an app's releases (``ReleaseMirror``).
struct MirrorFlag: ArgumentValue {
    let app: String
    let mirror: ReleaseMirror

    init(parsing text: String) throws(ArgumentError) {
        guard let eq = text.firstIndex(of: "="), eq != text.startIndex, text.index(after: eq) != text.endIndex else {
            throw ArgumentError("\"\(text)\" is not APP=URL")
        }
        app = String(text[..<eq])
        do { try Identifier.validateApp(app) } catch { throw ArgumentError(error.description) }
        do { mirror = try ReleaseMirror(url: String(text[text.index(after: eq)...])) } catch { throw ArgumentError(error.description) }
    }

    var description: String { "\(app)=\(mirror)" }
}
