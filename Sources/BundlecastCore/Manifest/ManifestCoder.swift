/// The canonical text form of a manifest, format version 1 (FORMAT.md).
///
/// ```
/// bundlecast-manifest 1
/// app APP
/// version VERSION
/// chunking fastcdc-v1 16384 65536 262144
/// file MODE SIZE DIGEST NCHUNKS PATH      MODE is "x" (executable) or "-"
///   CHUNKDIGEST SIZE                      NCHUNKS lines
/// symlink PATH
///   -> TARGET
/// end NENTRIES
/// ```
/// Every line ends with LF; fields are separated by one space; integers are
/// decimal without leading zeros; digests are 64 lowercase hex digits. The
/// decoder accepts exactly what the encoder writes: after parsing, it
/// re-encodes and compares, so no second byte form can slip through.
public enum ManifestCoder {
    public static let magic = "bundlecast-manifest 1"

    public static func encode(_ m: Manifest) -> [UInt8] {
        var out = [UInt8]()
        out.reserveCapacity(256 + m.entries.count * 100 + m.chunkCount * 72)
        func line(_ s: String) {
            out.append(contentsOf: s.utf8)
            out.append(0x0A)
        }
        let c = ChunkingParameters.v1
        line(magic)
        line("app \(m.app)")
        line("version \(m.version)")
        line("chunking \(c.name) \(c.minSize) \(c.averageSize) \(c.maxSize)")
        for entry in m.entries {
            switch entry.kind {
            case .file(let executable, let size, let digest, let chunks):
                line("file \(executable ? "x" : "-") \(size) \(digest.hex) \(chunks.count) \(entry.path)")
                for chunk in chunks { line("  \(chunk.digest.hex) \(chunk.size)") }
            case .symlink(let target):
                line("symlink \(entry.path)")
                line("  -> \(target)")
            }
        }
        line("end \(m.entries.count)")
        return out
    }

    /// Parses canonical manifest bytes; throws ``ManifestError`` or
    /// ``PathError`` naming the line or path at fault.
    public static func decode(_ bytes: [UInt8]) throws -> Manifest {
        guard String(validating: bytes, as: UTF8.self) != nil else { throw ManifestError("not UTF-8") }
        guard bytes.last == 0x0A else { throw ManifestError("does not end with a newline") }
        var reader = LineReader(bytes: bytes)
        guard try reader.next() == magic else {
            throw ManifestError(line: 1, "expected \"\(magic)\": not a Bundlecast manifest, or a newer format")
        }
        let app = try reader.field("app")
        let versionText = try reader.field("version")
        let version: SemanticVersion
        do { version = try SemanticVersion(versionText) } catch { throw ManifestError(line: reader.number, error.description) }
        let c = ChunkingParameters.v1
        guard try reader.next() == "chunking \(c.name) \(c.minSize) \(c.averageSize) \(c.maxSize)" else {
            throw ManifestError(line: reader.number, "unsupported chunking parameters (expected \(c.name) \(c.minSize) \(c.averageSize) \(c.maxSize))")
        }
        var entries: [ManifestEntry] = []
        while true {
            let line = try reader.next()
            if let count = line.after("end ") {
                guard let n = DecimalNumber.parse(count), n == entries.count else {
                    throw ManifestError(line: reader.number, "entry count does not match (\(entries.count) entries)")
                }
                break
            } else if line.after("file ") != nil {
                entries.append(try reader.file(line))
            } else if let path = line.after("symlink ") {
                guard let target = try reader.next().after("  -> ") else { throw ManifestError(line: reader.number, "expected \"  -> TARGET\"") }
                entries.append(ManifestEntry(path: path, kind: .symlink(target: target)))
            } else {
                throw ManifestError(line: reader.number, "expected \"file\", \"symlink\" or \"end\"")
            }
        }
        guard reader.atEnd else { throw ManifestError(line: reader.number + 1, "text after \"end\"") }
        let manifest = try Manifest(app: app, version: version, entries: entries)
        guard encode(manifest) == bytes else {
            throw ManifestError("not in canonical form (extra spaces, leading zeros, or upper-case hex?)")
        }
        return manifest
    }
}

/// Lines are taken apart by their UTF-8 bytes, never by `Character`: a path or target that
/// starts with a combining mark joins the space before it into one grapheme, so `hasPrefix`,
/// `dropFirst` and `split` by characters refused manifests the encoder writes.
private extension String {
    /// The rest of the line after `prefix`, if it starts with exactly those bytes.
    func after(_ prefix: String) -> String? {
        guard utf8.starts(with: prefix.utf8) else { return nil }
        return String(decoding: utf8.dropFirst(prefix.utf8.count), as: UTF8.self)
    }

    /// The line split at the byte space, empty fields kept.
    func fields(maxSplits: Int = .max) -> [String] {
        utf8.split(separator: 0x20, maxSplits: maxSplits, omittingEmptySubsequences: false).map { String(decoding: $0, as: UTF8.self) }
    }
}

/// Walks manifest lines, keeping the line number for error messages.
///
/// Each line is cut out as it is read, so input that is not a manifest is refused at its
/// first line, not after every line of it was made a string (16 MiB of newlines would
/// have been 16 million of them).
private struct LineReader {
    /// The manifest's bytes, ending with a newline.
    let bytes: [UInt8]
    private var position = 0
    private(set) var number = 0

    init(bytes: [UInt8]) { self.bytes = bytes }

    var atEnd: Bool { position >= bytes.count }

    /// Bytes not read yet, the final newline included.
    var bytesLeft: Int { bytes.count - position }

    mutating func next() throws(ManifestError) -> String {
        guard position < bytes.count else { throw ManifestError(line: number + 1, "unexpected end of manifest") }
        let end = bytes[position...].firstIndex(of: 0x0A) ?? bytes.count
        let line = String(decoding: bytes[position..<end], as: UTF8.self)
        position = end + 1
        number += 1
        return line
    }

    mutating func field(_ key: String) throws(ManifestError) -> String {
        let line = try next()
        guard let value = line.after(key + " ") else { throw ManifestError(line: number, "expected \"\(key) ...\"") }
        return value
    }

    mutating func file(_ line: String) throws -> ManifestEntry {
        let parts = line.fields(maxSplits: 5)
        guard parts.count == 6 else { throw ManifestError(line: number, "expected \"file MODE SIZE DIGEST NCHUNKS PATH\"") }
        let here = number
        guard parts[1] == "x" || parts[1] == "-" else { throw ManifestError(line: here, "mode must be \"x\" or \"-\"") }
        guard let size = DecimalNumber.parse(parts[2]) else { throw ManifestError(line: here, "bad size") }
        guard size <= Manifest.maxSize else { throw ManifestError(line: here, "size \(size) is over \(Manifest.maxSize) bytes") }
        guard let digest = Digest256(hex: parts[3]) else { throw ManifestError(line: here, "bad digest") }
        guard let count = DecimalNumber.parse(parts[4]) else { throw ManifestError(line: here, "bad chunk count") }
        // Every chunk but the last holds at least the minimum, and each has its own line: both
        // bound the count before anything is sized by it.
        let minimum = UInt64(ChunkingParameters.v1.minSize)
        // A chunk line is at least two spaces, 64 hex digits, a space, a digit and a newline.
        guard count <= size / minimum + 1, count <= UInt64(bytesLeft / 69) else {
            throw ManifestError(line: here, "chunk count \(count) is more than a file of \(size) bytes can have, or than the lines that follow")
        }
        var chunks: [ChunkRef] = []
        chunks.reserveCapacity(Int(count))
        for _ in 0..<count {
            let chunkLine = try next()
            let f = chunkLine.fields()
            guard f.count == 4, f[0].isEmpty, f[1].isEmpty, let d = Digest256(hex: f[2]),
                  let s = DecimalNumber.parse(f[3]), s <= UInt64(UInt32.max)
            else { throw ManifestError(line: number, "expected \"  CHUNKDIGEST SIZE\"") }
            chunks.append(ChunkRef(digest: d, size: UInt32(s)))
        }
        return ManifestEntry(path: String(parts[5]), kind: .file(executable: parts[1] == "x", size: size, digest: digest, chunks: chunks))
    }
}
