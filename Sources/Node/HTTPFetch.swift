import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// One HTTP request that a task cancellation can stop without hanging the process.
///
/// On Linux, cancelling a task waiting in `URLSession.data(for:)` calls into the
/// session synchronously from the task's cancellation handler, while the
/// session's own queue may be resuming that same task: each waits for the
/// other's lock, and a node told to stop (SIGTERM cancels its origin long-poll)
/// never exited (seen with `bundlecast demo`: one node of six hung, the stack
/// in `withStatusRecordLock` under `URLSession` and `DispatchQueue.sync`).
/// Here the completion-handler API is used and the cancel goes out from
/// another queue, after the handler has returned.
enum HTTPFetch {
    static func data(for request: URLRequest, session: URLSession = .shared) async throws -> (Data, URLResponse) {
        let pending = PendingTask()
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { continuation in
                let task = session.dataTask(with: request) { data, response, error in
                    if let error {
                        continuation.resume(throwing: error)
                    } else if let data, let response {
                        continuation.resume(returning: (data, response))
                    } else {
                        continuation.resume(throwing: URLError(.badServerResponse))
                    }
                }
                pending.start(task)
            }
        } onCancel: {
            DispatchQueue.global().async { pending.cancel() }
        }
    }
}

/// The data task of one ``HTTPFetch`` call, cancelled whether the cancel comes before or after it starts.
private final class PendingTask: @unchecked Sendable {
    // @unchecked: `task` and `cancelled` are only touched under `lock`.
    private let lock = NSLock()
    private var task: URLSessionDataTask?
    private var cancelled = false

    func start(_ task: URLSessionDataTask) {
        lock.lock()
        self.task = task
        let cancelled = self.cancelled
        lock.unlock()
        task.resume()
        if cancelled { task.cancel() }
    }

    func cancel() {
        lock.lock()
        cancelled = true
        let task = self.task
        lock.unlock()
        task?.cancel()
    }
}
