import NIOHTTP1

/// What the content server answers to one request, decided by ``ContentRouter`` without
/// touching a socket; ``ContentHTTPHandler`` sends it.
public struct ContentAnswer: Sendable {
    public enum Body: Sendable, Equatable {
        case none
        case text(String)
        /// Bytes `offset..<offset+length` of an installed file whose size must be `size`.
        case file(path: String, offset: UInt64, length: UInt64, size: UInt64)
        /// An event stream of the app's installs.
        case events(app: String)
    }

    public var status: HTTPResponseStatus
    public var headers: HTTPHeaders
    public var body: Body
    /// A `HEAD` request: the same head, no body.
    public var headOnly = false

    static func text(_ status: HTTPResponseStatus, _ message: String, headers extra: [(String, String)] = []) -> ContentAnswer {
        let text = message + "\n"
        var headers = HTTPHeaders([("Content-Type", "text/plain; charset=utf-8"), ("Cache-Control", "no-store"),
                                   ("Content-Length", String(text.utf8.count))])
        headers.add(contentsOf: extra)
        return ContentAnswer(status: status, headers: headers, body: .text(text))
    }

    static func redirect(_ status: HTTPResponseStatus, to location: String, cache: String) -> ContentAnswer {
        ContentAnswer(status: status, headers: HTTPHeaders([("Location", location), ("Cache-Control", cache), ("Content-Length", "0")]), body: .none)
    }
}
