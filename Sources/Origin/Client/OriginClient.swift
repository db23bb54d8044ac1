import BoundedHTTP
import BundlecastCore
import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// The publisher's side of the origin API.
public struct OriginClient: Sendable {
    public let base: URL
    /// Most bytes read of an answer: every one is a small JSON object (an app's summary,
    /// a refusal), so anything larger is not the origin speaking.
    static let answerLimit = 1 << 20

    /// - Parameter url: the origin's base URL, e.g. `http://127.0.0.1:7300`.
    public init(url: String) throws {
        guard let base = URL(string: url), let scheme = base.scheme, ["http", "https"].contains(scheme), base.host != nil else {
            throw OriginClientError("--origin \"\(url)\" is not an http:// or https:// URL")
        }
        guard base.user == nil, base.password == nil else {
            throw OriginClientError("--origin carries a user name or password: an origin takes signed notices without one, and a command line is no place for secrets")
        }
        self.base = base
    }

    /// The highest sequence the origin holds for `app` (0 if none), or an
    /// error when the app is not registered there. At most 2^63-1, so that callers may add 1.
    public func highestSequence(app: String) async throws -> UInt64 {
        let (status, data) = try await send(path: "/v1/apps/\(app)", method: "GET", body: nil)
        guard status == 200 else { throw OriginClientError(Self.refusal(status, data, doing: "look up \(app)")) }
        guard let sequence = Self.sequence(inSummary: data) else {
            throw OriginClientError("the origin at \(base) sent an unreadable answer for \(app)")
        }
        return sequence
    }

    /// The `sequence` of an app summary, nil if missing or above 2^63-1: an origin refuses
    /// such sequences, so a larger one is a wrong answer, not a number to add 1 to.
    static func sequence(inSummary data: Data) -> UInt64? {
        struct Summary: Decodable { let sequence: UInt64 }
        guard let sequence = try? JSONDecoder().decode(Summary.self, from: data).sequence, sequence <= Notice.maxSequence else { return nil }
        return sequence
    }

    /// The key the origin checks `app`'s notices against, and its epoch.
    public func pinnedKey(app: String) async throws -> (keyID: KeyID, epoch: UInt64) {
        let (status, data) = try await send(path: "/v1/apps/\(app)", method: "GET", body: nil)
        guard status == 200 else { throw OriginClientError(Self.refusal(status, data, doing: "look up \(app)")) }
        struct Summary: Decodable {
            let keyId: String
            let epoch: UInt64?
        }
        guard let summary = try? JSONDecoder().decode(Summary.self, from: data), let id = KeyID(text: summary.keyId) else {
            throw OriginClientError("the origin at \(base) sent an unreadable answer for \(app)")
        }
        return (id, summary.epoch ?? 0)
    }

    /// What the origin did with a rotation statement.
    public enum RotationAnswer: String, Equatable, Sendable {
        case rotated, known
    }

    /// Sends a rotation statement; throws with the origin's reason when refused.
    public func submit(_ rotation: SignedRotation) async throws -> RotationAnswer {
        let (status, data) = try await send(path: "/v1/apps/\(rotation.statement.app)/rotations", method: "POST", body: Data(rotation.bytes))
        struct Answer: Decodable { let status: String }
        guard status == 200 || status == 201 else {
            throw OriginClientError(Self.refusal(status, data, doing: "accept the rotation statement", rotation: true))
        }
        return (try? JSONDecoder().decode(Answer.self, from: data)).flatMap { RotationAnswer(rawValue: $0.status) } ?? .rotated
    }

    /// What the origin said to an announced notice.
    public enum Announcement: Equatable, Sendable {
        case created
        /// The origin already had this signed notice (its unsigned comment aside).
        case alreadyKnown
    }

    /// Sends a `.minisig` notice; throws with the origin's reason and what to do.
    public func announce(_ notice: SignedNotice) async throws -> Announcement {
        let (status, data) = try await send(path: "/v1/apps/\(notice.notice.app)/notices", method: "POST", body: Data(notice.bytes))
        switch status {
        case 201: return .created
        case 200: return .alreadyKnown
        default: throw OriginClientError(Self.refusal(status, data, doing: "accept the notice"))
        }
    }

    private func send(path: String, method: String, body: Data?) async throws -> (Int, Data) {
        var request = URLRequest(url: base.appendingPathComponent(path))
        request.httpMethod = method
        request.httpBody = body
        request.timeoutInterval = 30
        if body != nil { request.setValue("text/plain", forHTTPHeaderField: "Content-Type") }
        do {
            let (data, response) = try await HTTPFetch.data(for: request, limit: Self.answerLimit)
            return (response.statusCode, data)
        } catch let error as HTTPFetchError {
            throw OriginClientError("\(error)")
        } catch {
            throw OriginClientError("cannot reach the origin at \(base): \(error.localizedDescription)")
        }
    }

    /// Most characters of an origin's `error` text that reach the publisher's terminal.
    static let errorLimit = 200

    /// The line for a refused request. The origin's `error` text is whatever answered said (up
    /// to ``answerLimit``), so it reaches the terminal with its controls escaped
    /// (``PrintableText``) and cut at ``errorLimit`` characters.
    static func refusal(_ status: Int, _ data: Data, doing: String, rotation: Bool = false) -> String {
        struct ErrorBody: Decodable { let error: String }
        let message = (try? JSONDecoder().decode(ErrorBody.self, from: data).error).map { PrintableText.escaped($0, limit: Self.errorLimit) }
            ?? "HTTP \(status)"
        let advice: String
        switch (status, rotation) {
        case (409, true): advice = "the statement's epoch must be one above the origin's (GET /v1/apps/APP shows it)"
        case (401, true), (403, true): advice = "sign with the key the origin has registered as --old, and co-sign with the new key"
        case (404, _): advice = "register the app on the origin: bundlecast origin add-app APP --pub KEY --db DB"
        case (409, _): advice = "release or re-sign with a higher sequence"
        case (401, _), (403, _): advice = "sign with the key the origin has registered for this app"
        default: advice = "check the notice with `bundlecast verify`"
        }
        return "the origin refused to \(doing) (\(status)): \(message); \(advice)"
    }
}

/// An origin that could not be reached or refused a request.
public struct OriginClientError: Error, CustomStringConvertible, Equatable {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}
