import Foundation

/// The rules every path in a bundle obeys, checked when a bundle is read and
/// when a manifest is parsed (and later, before anything is installed).
///
/// A path is relative, UTF-8, at most 4096 bytes with segments of at most 255,
/// with no empty, `.` or `..` segment, and no NUL or other control character
/// (so that it fits on one line of the manifest and on any file system).
public enum BundlePath {
    public static let maxBytes = 4096
    public static let maxSegmentBytes = 255

    /// Throws if `path` breaks a rule.
    public static func validate(_ path: String) throws(PathError) {
        if let reason = problem(Array(path.utf8), allowDots: false) {
            throw PathError(path: path, reason: reason)
        }
    }

    /// Validates raw bytes from the file system (which need not be UTF-8).
    public static func validate(bytes: [UInt8]) throws(PathError) -> String {
        guard let path = String(validating: bytes, as: UTF8.self) else {
            throw PathError(path: String(decoding: bytes, as: UTF8.self), reason: .notUTF8)
        }
        try validate(path)
        return path
    }

    static func problem(_ utf8: [UInt8], allowDots: Bool) -> PathError.Reason? {
        guard !utf8.isEmpty else { return .empty }
        guard utf8.count <= maxBytes else { return .tooLong }
        if utf8.first == UInt8(ascii: "/") { return .absolute }
        if utf8.contains(0) { return .nul }
        if utf8.contains(where: { $0 < 0x20 || $0 == 0x7F }) { return .controlCharacter }
        for segment in utf8.split(separator: UInt8(ascii: "/"), omittingEmptySubsequences: false) {
            if segment.isEmpty { return .emptySegment }
            if segment.count > maxSegmentBytes { return .tooLong }
            if !allowDots {
                if segment.elementsEqual("..".utf8) { return .dotDot }
                if segment.elementsEqual(".".utf8) { return .dot }
            }
        }
        return nil
    }

    /// The segments of a path (or a symlink's target) between the bytes `/`, as the kernel
    /// reads it; empty segments left out. Never split a path by `Character`: a `/` followed by
    /// a combining mark is one grapheme, so the split would miss it.
    public static func segments(_ path: String) -> [String] {
        path.utf8.split(separator: UInt8(ascii: "/")).map { String(decoding: $0, as: UTF8.self) }
    }

    /// The path of the directory that holds `path` ("" at the top), found at the last byte `/`.
    public static func parent(_ path: Substring) -> Substring? {
        guard let slash = path.utf8.lastIndex(of: UInt8(ascii: "/")) else { return nil }
        return path[..<slash]
    }

    /// Byte-wise order of paths: the order of manifest entries.
    public static func precedes(_ a: String, _ b: String) -> Bool { order(a, b) < 0 }

    /// Negative, zero or positive as `a` comes before, equals or comes after `b` in byte
    /// order. One `memcmp`: paths of a deep tree share thousands of leading bytes, and a
    /// release sorts tens of thousands of them.
    public static func order(_ a: String, _ b: String) -> Int {
        var (a, b) = (a, b)
        return a.withUTF8 { x in
            b.withUTF8 { y in
                let common = min(x.count, y.count)
                if common > 0, let p = x.baseAddress, let q = y.baseAddress {
                    let c = memcmp(p, q, common)
                    if c != 0 { return Int(c) }
                }
                return x.count - y.count
            }
        }
    }
}
