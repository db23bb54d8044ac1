import BundlecastCore

/// The cache file: a magic line, the bundle root and the chunker, then each entry (path,
/// stamp, chunks), all integers little-endian, and a BLAKE2b-256 of everything before it
/// so a torn or edited file is ignored rather than half-used.
extension DigestCache {
    static let magic = Array("bundlecast digest cache 1\n".utf8)
    /// Larger files are not read: a cache is about 40 bytes per 64 KiB chunk, so this
    /// covers bundles of several terabytes.
    public static let maxFileBytes = 1 << 30

    public func encoded() -> [UInt8] {
        var out = Self.magic
        out.putBytes(Array(root.utf8))
        out.putBytes(Array(parameters.name.utf8))
        for n in [parameters.minSize, parameters.averageSize, parameters.maxSize] { out.put(UInt64(n)) }
        out.put(UInt64(entries.count))
        for (path, entry) in entries.sorted(by: { $0.key < $1.key }) {
            out.putBytes(Array(path.utf8))
            let s = entry.stamp
            for n in [s.device, s.inode, s.size] { out.put(n) }
            for t in [s.modified, s.changed] {
                out.put(UInt64(bitPattern: t.seconds))
                out.put(UInt64(bitPattern: t.nanoseconds))
            }
            out.put(UInt64(entry.chunks.count))
            for chunk in entry.chunks {
                out += chunk.digest.bytes
                out.put(UInt64(chunk.size))
            }
        }
        out += Blake2b.digest256(out).bytes
        return out
    }

    /// Decodes a cache file; `nil` for anything that is not a whole, intact cache of `root`
    /// made with `parameters`.
    public init?(decoding bytes: [UInt8], root: String, parameters: ChunkingParameters = .v1) {
        guard bytes.count >= Self.magic.count + 32, bytes.count <= Self.maxFileBytes else { return nil }
        let body = bytes[..<(bytes.count - 32)]
        guard Blake2b.digest256(Array(body)).bytes == Array(bytes[(bytes.count - 32)...]) else { return nil }
        var reader = CacheReader(bytes: Array(body))
        guard reader.take(Self.magic.count) == Self.magic,
              let rootBytes = reader.field(), String(decoding: rootBytes, as: UTF8.self) == root,
              let name = reader.field(), String(decoding: name, as: UTF8.self) == parameters.name,
              reader.u64() == UInt64(parameters.minSize), reader.u64() == UInt64(parameters.averageSize),
              reader.u64() == UInt64(parameters.maxSize),
              let count = reader.u64(), count <= UInt64(reader.remaining)
        else { return nil }
        self.init(root: root, parameters: parameters)
        for _ in 0..<count {
            guard let pathBytes = reader.field(), let path = String(validating: pathBytes, as: UTF8.self),
                  let device = reader.u64(), let inode = reader.u64(), let size = reader.u64(),
                  let ms = reader.u64(), let mn = reader.u64(), let cs = reader.u64(), let cn = reader.u64(),
                  let chunkCount = reader.u64(), chunkCount <= UInt64(reader.remaining / 40)
            else { return nil }
            var chunks: [ChunkRef] = []
            chunks.reserveCapacity(Int(chunkCount))
            for _ in 0..<chunkCount {
                guard let raw = reader.take(32), let digest = Digest256(bytes: raw),
                      let chunkSize = reader.u64(), let size32 = UInt32(exactly: chunkSize)
                else { return nil }
                chunks.append(ChunkRef(digest: digest, size: size32))
            }
            let stamp = FileStamp(
                device: device, inode: inode, size: size,
                modified: .init(seconds: Int64(bitPattern: ms), nanoseconds: Int64(bitPattern: mn)),
                changed: .init(seconds: Int64(bitPattern: cs), nanoseconds: Int64(bitPattern: cn)))
            guard record(path, stamp: stamp, chunks: chunks) else { return nil }
        }
        guard reader.remaining == 0 else { return nil }
    }
}

private extension [UInt8] {
    mutating func put(_ n: UInt64) { Swift.withUnsafeBytes(of: n.littleEndian) { append(contentsOf: $0) } }
    mutating func putBytes(_ b: [UInt8]) {
        put(UInt64(b.count))
        append(contentsOf: b)
    }
}

/// A cursor over untrusted bytes: every read is checked against what is left.
private struct CacheReader {
    let bytes: [UInt8]
    var offset = 0
    var remaining: Int { bytes.count - offset }

    mutating func take(_ n: Int) -> [UInt8]? {
        guard n >= 0, n <= remaining else { return nil }
        defer { offset += n }
        return Array(bytes[offset..<offset + n])
    }

    mutating func u64() -> UInt64? {
        guard let b = take(8) else { return nil }
        return b.reversed().reduce(0) { $0 << 8 | UInt64($1) }
    }

    mutating func field() -> [UInt8]? {
        guard let n = u64(), n <= UInt64(remaining) else { return nil }
        return take(Int(n))
    }
}
