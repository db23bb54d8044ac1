import BoundedHTTP
import BundlecastCore
import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// Reads a node's admin API.
public struct NodeAdminClient: Sendable {
    public let base: URL
    /// Sent as `Authorization: Bearer` when the node requires a token: from `$BUNDLECAST_ADMIN_TOKEN`.
    public var token: String? = ProcessInfo.processInfo.environment["BUNDLECAST_ADMIN_TOKEN"].flatMap { $0.isEmpty ? nil : $0 }

    public init(url: String) throws {
        guard let base = URL(string: url), base.scheme == "http" || base.scheme == "https", base.host != nil else {
            throw NodeClientError("--admin \"\(url)\" is not an http:// URL")
        }
        self.base = base
    }

    /// Posts a notice; returns the node's answer, throws with its reason when refused.
    public func announce(_ notice: [UInt8]) async throws -> String {
        let (status, data) = try await post("/v1/notices", body: Data(notice), type: Self.bytes)
        let body = (try? JSONSerialization.jsonObject(with: data)) as? [String: String]
        if status == 200 { return "already held \(body?["app"] ?? "") sequence \(body?["sequence"] ?? "") (it learnt it first from the origin or a peer)" }
        guard status == 201 else {
            throw NodeClientError("the node refused the notice (\(status)): \(body?["error"] ?? "HTTP \(status)")")
        }
        return "accepted \(body?["app"] ?? "") sequence \(body?["sequence"] ?? "") and spreading it by gossip"
    }

    /// Posts a rotation statement; returns the node's answer, throws with its reason when refused.
    public func rotate(_ statement: [UInt8]) async throws -> String {
        let (status, data) = try await post("/v1/rotations", body: Data(statement), type: Self.bytes)
        let body = (try? JSONSerialization.jsonObject(with: data)) as? [String: String]
        switch status {
        case 200: return "already holds \(body?["app"] ?? "") key \(body?["keyId"] ?? "") at epoch \(body?["epoch"] ?? "")"
        case 201:
            return "\(body?["status"] ?? "accepted") \(body?["app"] ?? ""): key \(body?["keyId"] ?? "") at epoch \(body?["epoch"] ?? ""), spreading it by gossip"
        default: throw NodeClientError("the node refused the rotation statement (\(status)): \(body?["error"] ?? "HTTP \(status)")")
        }
    }

    /// Gives the node a manifest; returns the digests of the chunks it lacks.
    public func putManifest(_ bytes: [UInt8]) async throws -> [String] {
        let (status, data) = try await post("/v1/manifests", body: Data(bytes), type: Self.bytes)
        struct Answer: Decodable { var missing: [String] }
        guard status == 200, let answer = try? JSONDecoder().decode(Answer.self, from: data) else {
            throw NodeClientError("the node refused the manifest (\(status)): \(Self.error(in: data) ?? "HTTP \(status)")")
        }
        return answer.missing
    }

    /// Uploads a batch of chunks (`digest(32) length(u32 BE) bytes` each).
    public func putChunks(_ batch: Data) async throws {
        let (status, data) = try await post("/v1/chunks", body: batch, type: Self.bytes)
        guard status == 200 else {
            throw NodeClientError("the node refused chunks (\(status)): \(Self.error(in: data) ?? "HTTP \(status)")")
        }
    }

    /// Rolls an app back to its kept earlier version; returns (from, to).
    public func rollback(app: String, to version: String?) async throws -> (from: String, to: String) {
        var ask: [String: String] = ["app": app]
        ask["to"] = version
        let (status, data) = try await post("/v1/rollback", body: try JSONEncoder().encode(ask), type: "application/json")
        let body = (try? JSONSerialization.jsonObject(with: data)) as? [String: String]
        guard status == 200, let from = body?["from"], let to = body?["to"] else {
            throw NodeClientError("the node did not roll back (\(status)): \(body?["error"] ?? "HTTP \(status)")")
        }
        return (from, to)
    }

    /// The admin API refuses a body of any other type (a web page could send it without a pre-flight).
    static let bytes = "application/octet-stream"

    private func post(_ path: String, body: Data, type: String) async throws -> (Int, Data) {
        var request = try await authorized(URLRequest(url: base.appendingPathComponent(path)))
        request.httpMethod = "POST"
        request.httpBody = body
        request.setValue(type, forHTTPHeaderField: "Content-Type")
        return try await send(request)
    }

    /// The most an answer of the admin API may hold (a status of 50,000 members is a few MiB).
    static let answerLimit = 64 << 20

    /// The answer's status and body; throws when nothing answered. Whatever answers on the
    /// admin port (another program, if the node is down) gets no cookie jar, no unbounded
    /// body, and no redirect elsewhere that would carry the token.
    private func send(_ request: URLRequest) async throws -> (Int, Data) {
        do {
            let (data, response) = try await HTTPFetch.data(for: request, limit: Self.answerLimit, redirects: .sameOrigin)
            return (response.statusCode, data)
        } catch {
            throw NodeClientError("cannot reach the node's admin API at \(base): \(HTTPFetchError.describe(error))")
        }
    }

    /// `request` with the token, once whatever answers on the admin port has shown it holds
    /// it (``AdminTokenProof``); without it when the node needs none (it answers the proof
    /// with 404). Anything else is an error, and the token is not sent.
    private func authorized(_ request: URLRequest) async throws -> URLRequest {
        guard let token else { return request }
        let nonce = Sodium.randomBytes(AdminTokenProof.nonceBytes)
        guard var ask = URLComponents(url: base.appendingPathComponent(AdminTokenProof.path), resolvingAgainstBaseURL: false) else {
            throw NodeClientError("--admin \"\(base)\" is not an http:// URL")
        }
        ask.queryItems = [URLQueryItem(name: "nonce", value: Hex.encode(nonce))]
        guard let url = ask.url else { throw NodeClientError("--admin \"\(base)\" is not an http:// URL") }
        let (status, data) = try await send(URLRequest(url: url))
        if status == 404 { return request }
        let proof = ((try? JSONSerialization.jsonObject(with: data)) as? [String: Any])?["proof"] as? String
        guard status == 200, let proof, let given = Hex.decode(proof),
              Sodium.equal(given, AdminTokenProof.proof(token: token, nonce: nonce)) else {
            throw NodeClientError("what answers at \(base) did not show it holds the admin token (HTTP \(status)): "
                                  + "$BUNDLECAST_ADMIN_TOKEN was not sent (is the node running there, with this --admin-token?)")
        }
        var request = request
        request.setValue("Bearer \(token)", forHTTPHeaderField: "Authorization")
        return request
    }

    private static func error(in data: Data) -> String? {
        ((try? JSONSerialization.jsonObject(with: data)) as? [String: Any])?["error"] as? String
    }

    public func status() async throws -> NodeStatus {
        let (status, data) = try await send(try await authorized(URLRequest(url: base.appendingPathComponent("/v1/status"))))
        guard status == 200 else {
            throw NodeClientError("the node at \(base) answered HTTP \(status)")
        }
        do { return try JSONDecoder().decode(NodeStatus.self, from: data) } catch {
            throw NodeClientError("the node at \(base) sent an unreadable status")
        }
    }
}

public struct NodeClientError: Error, CustomStringConvertible, Equatable {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}
