import BundlecastCore
import Foundation
import HTTPTypes
import Hummingbird

/// Small JSON answers, one shape for every error: `{"error": "...", "status": N}`.
enum APIResponse {
    static let jsonEncoder: JSONEncoder = {
        let e = JSONEncoder()
        e.outputFormatting = [.sortedKeys]
        return e
    }()

    static func json(_ status: HTTPResponse.Status, _ value: some Encodable, headers: HTTPFields = [:]) -> Response {
        var headers = headers
        headers[.contentType] = "application/json"
        let data = (try? jsonEncoder.encode(value)) ?? Data("{}".utf8)
        return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }

    struct ErrorBody: Encodable {
        let error: String
        let status: Int
    }

    static func error(_ status: HTTPResponse.Status, _ message: String, headers: HTTPFields = [:]) -> Response {
        json(status, ErrorBody(error: message, status: status.code), headers: headers)
    }
}

/// A request that must end with an error answer.
struct APIFailure: Error {
    let status: HTTPResponse.Status
    let message: String
    /// Counted under this reason in `bundlecast_origin_notices_total`, for notice submissions.
    var reason: String?

    init(_ status: HTTPResponse.Status, _ message: String, reason: String? = nil) {
        self.status = status
        self.message = message
        self.reason = reason
    }

    var response: Response { APIResponse.error(status, message) }

    /// Most characters of a message written to the log.
    static let loggedLimit = 200

    /// The message as the log takes it: it may quote what a client sent (a parse error names
    /// the bytes it stopped at), so terminal controls are escaped (``PrintableText``) and it is
    /// cut at ``loggedLimit`` characters.
    var logged: String { PrintableText.escaped(message, limit: Self.loggedLimit) }
}
