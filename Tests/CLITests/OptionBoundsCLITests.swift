import Foundation
import Testing

/// Numbers given on the command line, or answered by a node, are bounded where they are read:
/// each bad one is a single error line and a non-zero exit (64 for an option), never a trap.
@Suite struct OptionBoundsCLITests {
    /// Runs bundlecast and expects ArgumentParser's validation exit with one line naming `option`.
    func expectRefused(_ arguments: [String], naming option: String, timeout: TimeInterval = 30) throws {
        let r = try run(bundlecastPath, arguments, timeout: timeout)
        #expect(r.code == 64, "\(arguments): exit \(r.code), \(r.stderr)")
        #expect(r.stderr.contains(option), "\(arguments): \(r.stderr)")
    }

    /// Each of these passed validation and then trapped converting seconds, MiB/s or a count.
    @Test func outOfRangeOptionsAreRefused() throws {
        try withTemporaryDirectory { (dir: String) throws -> Void in
            let node = ["node", "--data", dir + "/node", "--trust", "acme=" + dir + "/none.pub"]
            try expectRefused(node + ["--stagger", "10000000000s"], naming: "--stagger")
            // A password in an origin URL would go to whatever host a redirect names.
            try expectRefused(node + ["--origin", "http://ops:secret@127.0.0.1:7300"], naming: "--origin")
            // Peers would take this node's metadata for none, and a terminal would obey it.
            try expectRefused(node + ["--zone", "eu\u{1B}[2K"], naming: "--zone")
            try expectRefused(["origin", "--db", dir + "/origin.sqlite", "--timestamp-validity", "18446744073709551615s"],
                              naming: "--timestamp-validity", timeout: 15)
            try expectRefused(["simulate", "swarm", "--upload-mbps", "1e300"], naming: "--upload-mbps")
            try expectRefused(["simulate", "swarm", "--upload-mbps", "inf"], naming: "--upload-mbps")
            try expectRefused(["simulate", "swarm", "--upload-mbps", "1e-9"], naming: "--upload-mbps")
            try expectRefused(["simulate", "swarm", "--shared-cores", "1000000000000"], naming: "--shared-cores")
            try expectRefused(["simulate", "swarm", "--nodes", "20000", "--bundle-mb", "4096"], naming: "--nodes × --bundle-mb")
            try expectRefused(["simulate", "faults", "--crash-every", "1e300"], naming: "--crash-every")
            try expectRefused(["simulate", "faults", "--faults-until", "inf"], naming: "--faults-until")
            try expectRefused(["simulate", "faults", "--converge", "1e30"], naming: "--converge")
        }
    }

    /// A node answering `GET /v1/status` with more nodes on a version than it has live members
    /// (buggy or hostile) drew a bar of negative length and trapped; the share is clamped now.
    @Test func statusSurvivesImpossibleCounts() throws {
        let member = #"{"id":"00000000000000000000000000000001","address":"127.0.0.1:1","state":"alive","incarnation":1,"apps":[]}"#
        let status = """
            {"self":\(member),"channel":"stable","members":[\(member)],\
            "apps":[{"app":"acme","spread":[{"version":"1.0.0","sequence":1,"nodes":9223372036854775807},\
            {"version":"0.9.0","sequence":0,"nodes":-5}],"without":3,"accepted":[],"downloading":0,"failed":0}],\
            "gossip":{"datagramsIn":0,"datagramsOut":0,"bytesIn":0,"bytesOut":0,"droppedUnauthenticated":0,\
            "droppedOversized":0,"droppedMalformed":0,"pushPulls":0},"refusedNotices":{}}
            """
        let server = try OneShotHTTPServer(body: Array(status.utf8))
        let r = try run(bundlecastPath, ["status", "--node", "127.0.0.1:\(server.port)"], timeout: 30)
        server.stop()
        #expect(r.code == 0, "exit \(r.code): \(r.stderr)")
        #expect(r.stdout.contains("1.0.0") && r.stdout.contains("100.0%"), "\(r.stdout)")
    }
}

/// Answers every HTTP request on a loopback port with one JSON body, from a thread of its own.
final class OneShotHTTPServer: @unchecked Sendable {
    let port: Int
    private let fd: Int32

    init(body: [UInt8]) throws {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        self.fd = fd
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) == 0 && listen(fd, 8) == 0 && getsockname(fd, $0, &length) == 0 }
        }
        guard bound else { throw CocoaError(.fileWriteUnknown) }
        port = Int(UInt16(bigEndian: address.sin_port))
        let head = Array("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: \(body.count)\r\nConnection: close\r\n\r\n".utf8)
        Thread.detachNewThread {
            while true {
                let client = accept(fd, nil, nil)
                guard client >= 0 else { return }
                var request = [UInt8](repeating: 0, count: 65536)
                var received: [UInt8] = []
                while !received.ends(with: Array("\r\n\r\n".utf8)) {
                    let n = read(client, &request, request.count)
                    if n <= 0 { break }
                    received += request[0..<n]
                }
                let reply = head + body
                _ = reply.withUnsafeBytes { write(client, $0.baseAddress, $0.count) }
                close(client)
            }
        }
    }

    /// Stops accepting (the thread's accept fails and it ends).
    func stop() { shutdown(fd, Int32(SHUT_RDWR)); close(fd) }
}

private extension Array where Element == UInt8 {
    func ends(with suffix: [UInt8]) -> Bool { count >= suffix.count && Array(self[(count - suffix.count)...]) == suffix }
}
