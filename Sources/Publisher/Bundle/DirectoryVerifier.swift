import BundlecastCore

/// One way a directory differs from a manifest.
public struct DirectoryDifference: Equatable, Sendable, CustomStringConvertible {
    public enum Kind: Equatable, Sendable {
        case missing
        case extra
        case changed(String)
    }

    public let path: String
    public let kind: Kind

    public var description: String {
        switch kind {
        case .missing: return "missing  \(path)"
        case .extra: return "extra    \(path)"
        case .changed(let what): return "changed  \(path) (\(what))"
        }
    }
}

/// Checks that a directory holds exactly what a manifest says: the same
/// paths, types, executable bits, symlink targets and bytes.
public enum DirectoryVerifier {
    public static func compare(_ manifest: Manifest, with directory: String) throws -> [DirectoryDifference] {
        let items = try BundleScanner.scan(directory)
        // Keyed by bytes: as Strings, a file named "e\u{301}" would pass for the manifest's "é".
        let expected = Dictionary(manifest.entries.map { (Array($0.path.utf8), $0) }, uniquingKeysWith: { a, _ in a })
        let found = Set(items.map { Array($0.path.utf8) })
        var differences: [DirectoryDifference] = []
        var toHash: [ScannedItem] = []
        for item in items {
            guard let entry = expected[Array(item.path.utf8)] else {
                differences.append(DirectoryDifference(path: item.path, kind: .extra))
                continue
            }
            switch (item.kind, entry.kind) {
            case (.symlink(let target), .symlink(let want)):
                if target != want { differences.append(DirectoryDifference(path: item.path, kind: .changed("symlink to \"\(target)\", expected \"\(want)\""))) }
            case (.file(let size, let x), .file(let wantX, let wantSize, _, _)):
                if size != wantSize {
                    differences.append(DirectoryDifference(path: item.path, kind: .changed("\(size) bytes, expected \(wantSize)")))
                } else if x != wantX {
                    differences.append(DirectoryDifference(path: item.path, kind: .changed(wantX ? "not executable, expected executable" : "executable, expected not")))
                } else {
                    toHash.append(item)
                }
            case (.file, .symlink): differences.append(DirectoryDifference(path: item.path, kind: .changed("a file, expected a symlink")))
            case (.symlink, .file): differences.append(DirectoryDifference(path: item.path, kind: .changed("a symlink, expected a file")))
            }
        }
        for e in try BundleHasher().entries(for: toHash, root: directory) where e.kind != expected[Array(e.path.utf8)]?.kind {
            differences.append(DirectoryDifference(path: e.path, kind: .changed("content differs")))
        }
        for entry in manifest.entries where !found.contains(Array(entry.path.utf8)) {
            differences.append(DirectoryDifference(path: entry.path, kind: .missing))
        }
        return differences.sorted { BundlePath.precedes($0.path, $1.path) }
    }
}
