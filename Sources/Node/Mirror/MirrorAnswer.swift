import Swarm

/// What a node makes of a mirror's answer: the bytes it asked for, or a ``MirrorProblem``.
/// Pure, so every rule is tested without a server; ``MirrorClient`` makes the requests.
///
/// A chunk is asked for with `Range: bytes=FIRST-LAST` and `Accept-Encoding: identity`.
/// Taken: a `206` whose `Content-Range` names exactly that range and whose body is exactly
/// that long, or a `200` for a chunk at offset 0 whose body is exactly the chunk (the whole
/// file is that one chunk: a server may answer a range covering a file with the file). A
/// `200` with more is a server that ignores `Range`: the client stops reading at the chunk's
/// length, so a mirror never makes a node read a whole file for one chunk.
public enum MirrorAnswer {
    /// `Range: bytes=FIRST-LAST` for `length` bytes at `offset`; nil for an empty or
    /// overflowing range (a manifest never gives one).
    public static func rangeHeader(offset: UInt64, length: Int) -> String? {
        guard length > 0, let last = lastByte(offset: offset, length: length) else { return nil }
        return "bytes=\(offset)-\(last)"
    }

    /// Checks an answer to a range request for `length` bytes at `offset` of `file` (named in problems).
    public static func chunk(status: Int, contentRange: String?, contentEncoding: String?, body: [UInt8],
                             offset: UInt64, length: Int, file: String) -> Result<[UInt8], MirrorProblem> {
        if let problem = statusProblem(status, file: file) { return .failure(problem) }
        if let problem = encodingProblem(contentEncoding) { return .failure(problem) }
        guard let last = lastByte(offset: offset, length: length) else {
            return .failure(.refused("cannot ask for \(length) bytes at \(offset) of \(file)"))
        }
        if status == 200 {
            guard offset == 0, body.count == length else {
                return .failure(.refused("answered 200 with the whole of \(file) to a range request: it does not honour Range"))
            }
            return .success(body)
        }
        guard status == 206 else { return .failure(.unavailable("answered \(status) for \(file)")) }
        guard let text = contentRange, let range = parseContentRange(text) else {
            return .failure(.refused("answered 206 for \(file) without a single byte range in Content-Range (\(contentRange.map { printableExcerpt($0) } ?? "none"))"))
        }
        guard range.first == offset, range.last == last, range.complete.map({ $0 > last }) ?? true else {
            return .failure(.refused("answered bytes \(printableExcerpt(text)) of \(file) to a request for bytes \(offset)-\(last)"))
        }
        guard body.count == length else {
            return .failure(.refused("sent \(body.count) bytes of \(file) for a range of \(length)"))
        }
        return .success(body)
    }

    /// Checks an answer to a request for a manifest (the body was read with the manifest limit).
    public static func manifest(status: Int, contentEncoding: String?, body: [UInt8], file: String) -> Result<[UInt8], MirrorProblem> {
        if let problem = statusProblem(status, file: file) { return .failure(problem) }
        if let problem = encodingProblem(contentEncoding) { return .failure(problem) }
        guard status == 200 else { return .failure(.unavailable("answered \(status) for \(file)")) }
        return .success(body)
    }

    /// `Content-Range: bytes FIRST-LAST/COMPLETE` (COMPLETE may be `*`); nil for anything else.
    public static func parseContentRange(_ text: String) -> (first: UInt64, last: UInt64, complete: UInt64?)? {
        guard text.hasPrefix("bytes ") else { return nil }
        let rest = text.dropFirst(6)
        guard let dash = rest.firstIndex(of: "-"), let slash = rest.firstIndex(of: "/"), dash < slash,
              let first = number(rest[..<dash]), let last = number(rest[rest.index(after: dash)..<slash]), first <= last else { return nil }
        let completeText = rest[rest.index(after: slash)...]
        if completeText == "*" { return (first, last, nil) }
        guard let complete = number(completeText) else { return nil }
        return (first, last, complete)
    }

    /// Statuses that say the mirror cannot serve this now, or ever, whatever the request was.
    private static func statusProblem(_ status: Int, file: String) -> MirrorProblem? {
        switch status {
        case 404, 410: .unavailable("has no \(file) (\(status))")
        case 416: .refused("holds a \(file) shorter than the release's (416): another version of it")
        case 300..<400: .refused("redirected \(file) to another host, which a node does not follow (\(status))")
        case 200, 206: nil
        default: .unavailable("answered \(status) for \(file)")
        }
    }

    private static func encodingProblem(_ encoding: String?) -> MirrorProblem? {
        guard let encoding, !encoding.isEmpty, encoding.lowercased() != "identity" else { return nil }
        return .refused("answered with Content-Encoding \(printableExcerpt(encoding)) to a request for identity")
    }

    private static func lastByte(offset: UInt64, length: Int) -> UInt64? {
        guard length > 0 else { return nil }
        let (end, overflow) = offset.addingReportingOverflow(UInt64(length) - 1)
        return overflow ? nil : end
    }

    /// A decimal number of at most 20 digits that fits a UInt64; nothing else.
    private static func number(_ text: Substring) -> UInt64? {
        guard !text.isEmpty, text.utf8.count <= 20, text.utf8.allSatisfy({ (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) }) else { return nil }
        return UInt64(text)
    }
}

/// Why an answer from a mirror was not used: one line, and what it means for the mirror.
public struct MirrorProblem: Error, Equatable, Sendable, CustomStringConvertible {
    public enum Kind: Sendable, Equatable {
        /// Nothing usable this time (no connection, time-out, 5xx, 404): asked again after a back-off.
        case unavailable
        /// An answer that breaks the rules (a 200 for part of a file, a wrong Content-Range,
        /// a redirect to another host): the mirror is not asked again for this release.
        case refused
        /// Bytes that do not match the signed manifest: the mirror is not asked again for
        /// this release.
        case wrongBytes
    }

    public let kind: Kind
    public let reason: String

    public static func unavailable(_ reason: String) -> MirrorProblem { MirrorProblem(kind: .unavailable, reason: reason) }
    public static func refused(_ reason: String) -> MirrorProblem { MirrorProblem(kind: .refused, reason: reason) }
    public static func wrongBytes(_ reason: String) -> MirrorProblem { MirrorProblem(kind: .wrongBytes, reason: reason) }

    /// What it means for the mirror's health in this download.
    public var outcome: MirrorHealth.Outcome { kind == .unavailable ? .failed : .refused }

    public var description: String { reason }
}
