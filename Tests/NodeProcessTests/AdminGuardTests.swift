import BundlecastCore
import Foundation
import Testing
import TestSupport

/// The admin API against what a web page in a local browser can send: refused with 403,
/// nothing changed; the CLI (and any tool sending the right headers) still works.
@Suite(.serialized) struct AdminGuardTests {
    /// One raw HTTP/1.1 request (`Connection: close`); the status and the body.
    func raw(_ port: Int, _ head: String, body: [UInt8] = []) throws -> (status: Int, body: String) {
        let connection = try #require(RawConnection(port: port, timeout: 10))
        connection.send(Array((head + "Content-Length: \(body.count)\r\nConnection: close\r\n\r\n").utf8) + body)
        let answer = String(decoding: try #require(connection.readUntilClosed()), as: UTF8.self)
        let status = Int(answer.split(separator: " ").dropFirst().first ?? "") ?? 0
        let text = answer.components(separatedBy: "\r\n\r\n").dropFirst().joined(separator: "\r\n\r\n")
        return (status, text)
    }

    @Test func browserStyleRequestsAreRefusedAndTheCLIStillWorks() async throws {
        try await withTemporaryDirectory { dir in
            let node = try NodeProcess(directory: dir, name: "n")
            defer { node.kill9() }
            let port = node.adminPort
            let notice = try signedNotice(sequence: 1, version: "1.0.0")
            let host = "Host: 127.0.0.1:\(port)\r\n"
            let refused: [(String, String)] = [
                ("Origin", "POST /v1/notices HTTP/1.1\r\n\(host)Origin: http://evil.example\r\nContent-Type: application/octet-stream\r\n"),
                ("Sec-Fetch-Site", "POST /v1/notices HTTP/1.1\r\n\(host)Sec-Fetch-Site: cross-site\r\nContent-Type: application/octet-stream\r\n"),
                ("Host", "POST /v1/notices HTTP/1.1\r\nHost: evil.example\r\nContent-Type: application/octet-stream\r\n"),
                ("Host with the port", "POST /v1/notices HTTP/1.1\r\nHost: evil.example:\(port)\r\nContent-Type: application/octet-stream\r\n"),
                ("text/plain", "POST /v1/notices HTTP/1.1\r\n\(host)Content-Type: text/plain\r\n"),
                ("no Content-Type", "POST /v1/notices HTTP/1.1\r\n\(host)"),
            ]
            for (what, head) in refused {
                let answer = try raw(port, head, body: notice)
                #expect(answer.status == 403, "\(what): \(answer)")
                let json = try JSONSerialization.jsonObject(with: Data(answer.body.utf8)) as? [String: String]
                #expect(json?["error"]?.isEmpty == false, "\(what): one JSON error, got \(answer.body)")
                #expect(!answer.body.dropLast().contains("\n"), "one line")
            }
            let rollback = try raw(port, "POST /v1/rollback HTTP/1.1\r\n\(host)Content-Type: text/plain\r\n", body: Array("{\"app\":\"hello-fleet\"}".utf8))
            #expect(rollback.status == 403)
            let chunks = try raw(port, "POST /v1/chunks HTTP/1.1\r\n\(host)Origin: null\r\nContent-Type: application/octet-stream\r\n", body: [UInt8](repeating: 0, count: 36))
            #expect(chunks.status == 403)
            let status = try raw(port, "GET /v1/status HTTP/1.1\r\nHost: rebound.evil.example:\(port)\r\n")
            #expect(status.status == 403, "a DNS-rebound name cannot read the status either")
            // Nothing changed.
            #expect(try await node.sequence("hello-fleet") == 0)
            // The normal tools: the CLI, the status command, and localhost as the host name.
            #expect(try raw(port, "GET /healthz HTTP/1.1\r\nHost: localhost:\(port)\r\n").status == 200)
            let file = dir + "/1.0.0.manifest.minisig"
            _ = FileManager.default.createFile(atPath: file, contents: Data(notice))
            let announced = try runBundlecast(["announce", file, "--node", "127.0.0.1:\(port)"])
            #expect(announced.code == 0, "\(announced.err)")
            #expect(try await node.sequence("hello-fleet") == 1)
            let shown = try runBundlecast(["status", "--node", "localhost:\(port)"])
            #expect(shown.code == 0, "\(shown.err)")
        }
    }
}
