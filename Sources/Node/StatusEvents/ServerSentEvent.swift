import NIOCore

/// The Server-Sent Events wire format (the HTML standard's `text/event-stream`): blocks
/// of `field: value` lines, each block ended by an empty line.
enum ServerSentEvent {
    /// How long a client waits before it reconnects, in milliseconds.
    static func retry(milliseconds: Int) -> ByteBuffer {
        ByteBuffer(string: "retry: \(milliseconds)\n\n")
    }

    /// An event named `name` whose data is `data`, one `data:` line per line of it (a
    /// client joins them with line feeds again). JSON without pretty-printing is one line.
    static func event(_ name: String, data: [UInt8]) -> ByteBuffer {
        var out = ByteBuffer()
        out.reserveCapacity(data.count + name.utf8.count + 16)
        out.writeString("event: \(name)\n")
        for line in data.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false) {
            out.writeString("data: ")
            out.writeBytes(line.last == UInt8(ascii: "\r") ? line.dropLast() : line)
            out.writeString("\n")
        }
        out.writeString("\n")
        return out
    }

    /// A comment line: clients ignore it; it shows that the connection lives.
    static let keepAlive = ByteBuffer(string: ": keep-alive\n\n")
}
