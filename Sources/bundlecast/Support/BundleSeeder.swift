import BundlecastCore
import Foundation
import Node
import Publisher

/// Puts a release into a node through its admin API: the manifest, then the
/// chunks the node lacks, read from the bundle directory and checked against
/// the manifest on the way (a bundle edited since its release is refused).
struct BundleSeeder {
    let client: NodeAdminClient
    /// Chunks per upload request stay under this many bytes.
    var batchBytes = 8 << 20

    /// Returns how many chunks and bytes were uploaded.
    func seed(manifest: Manifest, manifestBytes: [UInt8], bundle: String) async throws -> (chunks: Int, bytes: UInt64) {
        let missing = Set(try await client.putManifest(manifestBytes).compactMap { Digest256(hex: $0) })
        var sent = Set<Digest256>()
        var batch = Data()
        var total: (chunks: Int, bytes: UInt64) = (0, 0)
        var buffer = [UInt8](repeating: 0, count: ChunkStore.maxChunk)
        for entry in manifest.entries {
            guard case .file(_, _, _, let chunks) = entry.kind, chunks.contains(where: { missing.contains($0.digest) && !sent.contains($0.digest) })
            else { continue }
            let path = bundle + "/" + entry.path
            let file: PosixFile
            do { file = try PosixFile.openForReading(path) } catch { throw Failure("\(error) (is --bundle the directory this release was made from?)") }
            var offset: off_t = 0
            for chunk in chunks {
                defer { offset += off_t(chunk.size) }
                guard missing.contains(chunk.digest), !sent.contains(chunk.digest) else { continue }
                let n = buffer.withUnsafeMutableBytes { pread(file.fd, $0.baseAddress!, Int(chunk.size), offset) }
                guard n == Int(chunk.size),
                      buffer.withUnsafeBytes({ Blake2b.digest256(UnsafeRawBufferPointer(rebasing: $0[0..<Int(chunk.size)])) }) == chunk.digest
                else { throw Failure("\(path) differs from the manifest at byte \(offset): the bundle changed since it was released") }
                batch.append(contentsOf: chunk.digest.bytes)
                withUnsafeBytes(of: chunk.size.bigEndian) { batch.append(contentsOf: $0) }
                batch.append(contentsOf: buffer[0..<Int(chunk.size)])
                sent.insert(chunk.digest)
                total.chunks += 1
                total.bytes += UInt64(chunk.size)
                if batch.count >= batchBytes {
                    try await client.putChunks(batch)
                    batch.removeAll(keepingCapacity: true)
                }
            }
        }
        if !batch.isEmpty { try await client.putChunks(batch) }
        return total
    }
}
