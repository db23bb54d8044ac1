import Hummingbird

/// Counts every request by its route template (not its raw path, so that
/// app names cannot blow up the metric's cardinality) and status.
struct MetricsMiddleware<Context: RequestContext>: RouterMiddleware {
    let metrics: OriginMetrics

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            let response = try await next(request, context)
            metrics.request(route: context.endpointPath ?? "unmatched", status: response.status.code)
            return response
        } catch {
            let status = (error as? any HTTPResponseError)?.status.code ?? 500
            metrics.request(route: context.endpointPath ?? "unmatched", status: status)
            throw error
        }
    }
}
