import BoundedHTTP
import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// Asks a mirror for one chunk's bytes or for a manifest. Every answer is read with a limit
/// (the chunk's length, or a manifest's most bytes) and a deadline, redirects are followed
/// only on the same scheme, host and port, and the rules of ``MirrorAnswer`` decide what is
/// taken. The caller checks what it gets against the signed manifest.
struct MirrorClient: Sendable {
    /// The most one request may take, first byte to last: a mirror that sends a byte now
    /// and then (slow retrieval) is given up on, and the next one asked.
    var timeout: Duration = .seconds(20)
    /// Seconds without a byte before a request is given up.
    var idleTimeout: TimeInterval = 10

    /// The `length` bytes at `offset` of `file` (named in problems) at `url`.
    func chunk(_ url: String, offset: UInt64, length: Int, file: String) async -> Result<[UInt8], MirrorProblem> {
        guard let range = MirrorAnswer.rangeHeader(offset: offset, length: length) else {
            return .failure(.refused("cannot ask for \(length) bytes at \(offset) of \(file)"))
        }
        switch await get(url, range: range, limit: length) {
        case .success(let raw):
            return MirrorAnswer.chunk(status: raw.status, contentRange: raw.contentRange, contentEncoding: raw.contentEncoding,
                                      body: raw.body, offset: offset, length: length, file: file)
        case .failure(let problem):
            return .failure(problem)
        }
    }

    /// The bytes at `url` (a manifest), at most `limit`.
    func manifest(_ url: String, limit: Int, file: String) async -> Result<[UInt8], MirrorProblem> {
        switch await get(url, range: nil, limit: limit) {
        case .success(let raw):
            return MirrorAnswer.manifest(status: raw.status, contentEncoding: raw.contentEncoding, body: raw.body, file: file)
        case .failure(let problem):
            return .failure(problem)
        }
    }

    /// What is kept of an answer (a Sendable copy of the response's few fields that matter).
    struct Raw: Sendable {
        var status: Int
        var contentRange: String?
        var contentEncoding: String?
        var body: [UInt8]
    }

    private func get(_ url: String, range: String?, limit: Int) async -> Result<Raw, MirrorProblem> {
        guard let target = URL(string: url) else { return .failure(.refused("makes no URL of \(url)")) }
        var request = URLRequest(url: target, cachePolicy: .reloadIgnoringLocalCacheData, timeoutInterval: idleTimeout)
        if let range { request.setValue(range, forHTTPHeaderField: "Range") }
        // A range of a compressed body is not a range of the file.
        request.setValue("identity", forHTTPHeaderField: "Accept-Encoding")
        let timeout = self.timeout, prepared = request
        do {
            return try await withThrowingTaskGroup(of: Raw?.self) { group in
                group.addTask {
                    let (data, response) = try await HTTPFetch.data(for: prepared, limit: limit, redirects: .sameOrigin)
                    return Raw(status: response.statusCode, contentRange: response.value(forHTTPHeaderField: "Content-Range"),
                               contentEncoding: response.value(forHTTPHeaderField: "Content-Encoding"), body: [UInt8](data))
                }
                group.addTask {
                    try await Task.sleep(for: timeout)
                    return nil
                }
                defer { group.cancelAll() }
                guard let first = try await group.next(), let raw = first else {
                    return .failure(.unavailable("sent no complete answer within \(timeout) for \(target.path)"))
                }
                return .success(raw)
            }
        } catch HTTPFetchError.tooLarge(_, let limit) {
            return .failure(.refused("sent more than the \(limit) bytes asked for \(target.path): it does not honour Range"))
        } catch let error as HTTPFetchError {
            return .failure(.unavailable("\(error)"))
        } catch {
            return .failure(.unavailable("cannot be reached for \(target.path): \(error.localizedDescription)"))
        }
    }
}
