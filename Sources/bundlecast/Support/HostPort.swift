/// `HOST:PORT`, port 0...65535 (the last colon splits, so an IPv6 literal needs no brackets).
struct HostPort: ArgumentValue, Hashable {
    let host: String
    let port: Int

    init(host: String, port: Int) {
        self.host = host
        self.port = port
    }

    init(parsing text: String) throws(ArgumentError) {
        guard let colon = text.lastIndex(of: ":"), let port = Int(text[text.index(after: colon)...]), (0...65535).contains(port) else {
            throw ArgumentError("\"\(text)\" is not HOST:PORT")
        }
        host = String(text[..<colon])
        self.port = port
        guard !host.isEmpty else { throw ArgumentError("\"\(text)\" has no host") }
    }

    var description: String { "\(host):\(port)" }

    /// `http://HOST:PORT`, with an IPv6 host in brackets.
    var httpURL: String { "http://\(host.contains(":") ? "[\(host)]" : host):\(port)" }

    var isLoopback: Bool { host == "127.0.0.1" || host == "::1" || host == "localhost" }
}

/// `HOST:PORT,HOST:PORT,...` (an empty list is allowed: no member to join through).
struct HostPortList: ArgumentValue {
    let addresses: [HostPort]

    init(parsing text: String) throws(ArgumentError) {
        var addresses: [HostPort] = []
        for part in text.split(separator: ",") { addresses.append(try HostPort(parsing: String(part))) }
        self.addresses = addresses
    }

    var description: String { addresses.map(\.description).joined(separator: ",") }
}
