import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// One HTTP request whose answer is read up to a limit, and that a task
/// cancellation can stop without hanging the process.
///
/// Every answer from another machine is read with a limit (from `Content-Length`
/// before a byte is read, and again as bytes arrive): an origin, a cache or a
/// man in the middle must not make a node hold an endless body in memory.
/// Going over it is one error, ``HTTPFetchError/tooLarge(url:limit:)``.
///
/// On Linux, cancelling a task waiting in `URLSession.data(for:)` calls into the
/// session synchronously from the task's cancellation handler, while the
/// session's own queue may be resuming that same task: each waits for the
/// other's lock, and a node told to stop (SIGTERM cancels its origin long-poll)
/// never exited (seen with `bundlecast demo`: one node of six hung, the stack
/// in `withStatusRecordLock` under `URLSession` and `DispatchQueue.sync`).
/// Here the cancel goes out from another queue, after the delegate has returned.
public enum HTTPFetch {
    /// Which redirects a request follows.
    public enum Redirects: Sendable {
        /// Every redirect, as URLSession does.
        case follow
        /// Only to the same scheme, host and port; any other is not followed, and the
        /// redirect itself is the answer (a mirror must not send a node to another host).
        case sameOrigin
    }

    /// The body (at most `limit` bytes) and the response, within twice the request's
    /// `timeoutInterval` in all: that one only bounds a wait between two bytes, and a server
    /// that sends a byte just within it each time would otherwise hold the caller for ever.
    public static func data(for request: URLRequest, limit: Int, redirects: Redirects = .follow) async throws -> (Data, HTTPURLResponse) {
        let pending = PendingTask()
        let seconds = min(max(request.timeoutInterval, 1), 3600) * 2
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { continuation in
                let task = FetchDelegate.session.dataTask(with: request)
                FetchDelegate.shared.register(task, limit: limit, redirects: redirects, continuation: continuation)
                pending.start(task)
                DispatchQueue.global().asyncAfter(deadline: .now() + seconds) { FetchDelegate.shared.expire(task, after: seconds) }
            }
        } onCancel: {
            DispatchQueue.global().async { pending.cancel() }
        }
    }
}

/// Why a fetch failed: one line.
public enum HTTPFetchError: Error, CustomStringConvertible, Equatable, Sendable {
    /// The answer's body is larger than the caller allows.
    case tooLarge(url: String, limit: Int)
    /// The answer was not HTTP.
    case notHTTP(url: String)
    /// The whole answer took longer than the fetch allows.
    case tooSlow(url: String, seconds: Int)

    public var description: String {
        switch self {
        case .tooLarge(let url, let limit): return "the answer from \(url) is larger than \(limit) bytes: refused"
        case .notHTTP(let url): return "the answer from \(url) is not an HTTP response"
        case .tooSlow(let url, let seconds): return "the answer from \(url) took longer than \(seconds) s: given up"
        }
    }
}

extension HTTPFetchError {
    /// An error of a fetch in one line: this type's own description, or the system's for a
    /// transport error (a refused connection, a time-out).
    public static func describe(_ error: any Error) -> String {
        (error as? HTTPFetchError)?.description ?? error.localizedDescription
    }
}

/// The session's delegate: collects each task's body up to its limit.
private final class FetchDelegate: NSObject, URLSessionDataDelegate, @unchecked Sendable {
    // @unchecked: `tasks` is only touched under `lock`.
    static let shared = FetchDelegate()
    /// Nothing a server says is kept: no cookies, no cache, no credentials. Origins and
    /// mirrors are untrusted, and with the default configuration swift-corelibs-foundation
    /// stores every `Set-Cookie` of every answer, with no bound, in a cookie file shared by
    /// the user's programs (rewritten whole for each cookie), and sends them back.
    static let session: URLSession = {
        let configuration = URLSessionConfiguration.ephemeral
        configuration.httpCookieAcceptPolicy = .never
        configuration.httpShouldSetCookies = false
        configuration.httpCookieStorage = nil
        configuration.urlCache = nil
        configuration.urlCredentialStorage = nil
        configuration.requestCachePolicy = .reloadIgnoringLocalCacheData
        return URLSession(configuration: configuration, delegate: shared, delegateQueue: nil)
    }()

    private struct Pending {
        let limit: Int
        let redirects: HTTPFetch.Redirects
        let url: String
        let continuation: CheckedContinuation<(Data, HTTPURLResponse), any Error>
        var data = Data()
        var failure: HTTPFetchError?
    }

    private let lock = NSLock()
    private var tasks: [Int: Pending] = [:]

    func register(_ task: URLSessionDataTask, limit: Int, redirects: HTTPFetch.Redirects,
                  continuation: CheckedContinuation<(Data, HTTPURLResponse), any Error>) {
        let url = task.originalRequest?.url?.absoluteString ?? "?"
        lock.withLock { tasks[task.taskIdentifier] = Pending(limit: limit, redirects: redirects, url: url, continuation: continuation) }
    }

    func urlSession(_ session: URLSession, task: URLSessionTask, willPerformHTTPRedirection response: HTTPURLResponse,
                    newRequest request: URLRequest, completionHandler: @escaping @Sendable (URLRequest?) -> Void) {
        let policy = lock.withLock { tasks[task.taskIdentifier]?.redirects } ?? .follow
        guard case .sameOrigin = policy else { return completionHandler(request) }
        let from = task.originalRequest?.url, to = request.url
        let same = from?.scheme?.lowercased() == to?.scheme?.lowercased() && from?.host?.lowercased() == to?.host?.lowercased()
            && from?.port == to?.port
        guard same else { return completionHandler(nil) }
        // The request's own headers (a Range, say) go along: on the same host it is the same request.
        var next = request
        for (name, value) in task.originalRequest?.allHTTPHeaderFields ?? [:] where next.value(forHTTPHeaderField: name) == nil {
            next.setValue(value, forHTTPHeaderField: name)
        }
        completionHandler(next)
    }

    func urlSession(_ session: URLSession, dataTask: URLSessionDataTask, didReceive response: URLResponse,
                    completionHandler: @escaping @Sendable (URLSession.ResponseDisposition) -> Void) {
        let tooLarge = lock.withLock { () -> Bool in
            guard var p = tasks[dataTask.taskIdentifier] else { return false }
            guard response.expectedContentLength > Int64(p.limit) else { return false }
            p.failure = .tooLarge(url: p.url, limit: p.limit)
            tasks[dataTask.taskIdentifier] = p
            return true
        }
        completionHandler(tooLarge ? .cancel : .allow)
    }

    /// Checks the limit on the entry's fields, then appends in place: a copy of the entry taken
    /// first (`var p = tasks[id]`) shares the body with the dictionary, and each append would
    /// then copy the whole body read so far (quadratic in its size).
    func urlSession(_ session: URLSession, dataTask: URLSessionDataTask, didReceive data: Data) {
        let id = dataTask.taskIdentifier
        let tooLarge = lock.withLock { () -> Bool in
            guard tasks[id]?.failure == nil, let read = tasks[id]?.data.count, let limit = tasks[id]?.limit else { return false }
            guard read + data.count <= limit else {
                let url = tasks[id]?.url ?? "?"
                tasks[id]?.failure = .tooLarge(url: url, limit: limit)
                tasks[id]?.data = Data()
                return true
            }
            tasks[id]?.data.append(data)
            return false
        }
        if tooLarge { dataTask.cancel() }
    }

    /// The fetch's time is up: if it is still running, it fails as too slow.
    func expire(_ task: URLSessionDataTask, after seconds: Double) {
        let running = lock.withLock { () -> Bool in
            guard var p = tasks[task.taskIdentifier], p.failure == nil else { return false }
            p.failure = .tooSlow(url: p.url, seconds: Int(seconds))
            tasks[task.taskIdentifier] = p
            return true
        }
        if running { task.cancel() }
    }

    func urlSession(_ session: URLSession, task: URLSessionTask, didCompleteWithError error: (any Error)?) {
        guard let p = lock.withLock({ tasks.removeValue(forKey: task.taskIdentifier) }) else { return }
        if let failure = p.failure { return p.continuation.resume(throwing: failure) }
        if let error { return p.continuation.resume(throwing: error) }
        guard let response = task.response as? HTTPURLResponse else { return p.continuation.resume(throwing: HTTPFetchError.notHTTP(url: p.url)) }
        p.continuation.resume(returning: (p.data, response))
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
