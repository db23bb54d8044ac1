import BundlecastCore
import Hummingbird

/// With `--admin-token`, every admin request but `GET /healthz` must carry
/// `Authorization: Bearer TOKEN`; anything else gets 401 and no work done.
struct AdminTokenMiddleware<Context: RequestContext>: RouterMiddleware {
    let token: String

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        if request.uri.path == "/healthz" { return try await next(request, context) }
        let given = request.headers[.authorization] ?? ""
        guard Sodium.equal(Array(given.utf8), Array("Bearer \(token)".utf8)) else {
            return Response(status: .unauthorized, headers: [.contentType: "application/json", .wwwAuthenticate: "Bearer"],
                            body: .init(byteBuffer: ByteBuffer(string: "{\"error\":\"missing or wrong admin token (Authorization: Bearer ...)\"}")))
        }
        return try await next(request, context)
    }
}
