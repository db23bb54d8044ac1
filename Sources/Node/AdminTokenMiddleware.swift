import BundlecastCore
import Hummingbird

/// With `--admin-token`, every admin request but `GET /healthz` and the token proof
/// (``AdminTokenProof``, answered here) must carry `Authorization: Bearer TOKEN`; anything
/// else gets 401 and no work done.
///
/// A browser cannot add that header to a typed URL or to an `EventSource`, so the fleet
/// page and its event stream (``AdminAddress/browserPaths``, `GET`/`HEAD` only) also take
/// the token as a `token` query parameter, which the page passes on to its stream. Such a
/// URL lands in the browser's history and in whatever logs URLs: the price of a page;
/// every other route takes the header only.
struct AdminTokenMiddleware<Context: RequestContext>: RouterMiddleware {
    let token: String

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        if request.uri.path == "/healthz" { return try await next(request, context) }
        if request.uri.path == AdminTokenProof.path, request.method == .get {
            // Before a command sends the token, the node shows it holds it (``AdminTokenProof``).
            guard let nonce = AdminTokenProof.nonce(request.uri.queryParameters["nonce"].map(String.init)) else {
                return Response(status: .badRequest, headers: [.contentType: "application/json"],
                                body: .init(byteBuffer: ByteBuffer(string: "{\"error\":\"nonce must be \(2 * AdminTokenProof.nonceBytes) hex digits\"}")))
            }
            let proof = Hex.encode(AdminTokenProof.proof(token: token, nonce: nonce))
            return Response(status: .ok, headers: [.contentType: "application/json", .cacheControl: "no-store"],
                            body: .init(byteBuffer: ByteBuffer(string: "{\"proof\":\"\(proof)\"}")))
        }
        let given = request.headers[.authorization] ?? ""
        if Sodium.equal(Array(given.utf8), Array("Bearer \(token)".utf8)) { return try await next(request, context) }
        let browser = AdminAddress.isBrowserRoute(request.method, path: request.uri.path)
        if browser, let query = request.uri.queryParameters["token"], Sodium.equal(Array(query.utf8), Array(token.utf8)) {
            return try await next(request, context)
        }
        let how = browser ? "Authorization: Bearer ..., or ?token=... in a browser" : "Authorization: Bearer ..."
        return Response(status: .unauthorized, headers: [.contentType: "application/json", .wwwAuthenticate: "Bearer"],
                        body: .init(byteBuffer: ByteBuffer(string: "{\"error\":\"missing or wrong admin token (\(how))\"}")))
    }
}
