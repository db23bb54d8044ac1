/// The tree of directories, files and symlinks a manifest describes, with each name found by
/// its folded form (``PathFolding``), so that names a file system would merge meet in one node.
///
/// Built once per manifest; paths are compared by their UTF-8 bytes, never as `String`s
/// (which compare by canonical equivalence and would take `é` for `e` + U+0301).
struct BundleTree {
    enum Kind: Equatable {
        case directory
        case file
        case symlink(target: [UInt8])
    }

    struct Node {
        /// The segment as the manifest spells it.
        let name: [UInt8]
        let parent: Int
        let kind: Kind
        /// Children by the folded key of their names.
        var children: [[UInt8]: Int] = [:]
    }

    static let root = 0
    private(set) var nodes = [Node(name: [], parent: 0, kind: .directory)]

    /// Adds the next entry in byte order of paths. Throws when the entry or one of its
    /// directories folds to a name already taken by another spelling, or lies under a file or
    /// symlink.
    mutating func add(_ entry: ManifestEntry) throws(PathError) {
        let segments = entry.path.utf8.split(separator: UInt8(ascii: "/"), omittingEmptySubsequences: false)
        var node = Self.root
        for (i, segment) in segments.enumerated() {
            let isLast = i == segments.count - 1
            let key = PathFolding.key(segment)
            // A name that only folds to "." or ".." (or to nothing) might be read as one somewhere.
            if key.isEmpty || key == [UInt8(ascii: ".")] || key == [UInt8(ascii: "."), UInt8(ascii: ".")] {
                throw PathError(path: entry.path, reason: key.isEmpty ? .emptySegment : key.count == 1 ? .dot : .dotDot)
            }
            if let child = nodes[node].children[key] {
                guard nodes[child].name.elementsEqual(segment) else {
                    throw PathError(path: entry.path, reason: .collides(path(of: child)))
                }
                // In byte order an entry comes before everything below it, so this is a repeat.
                guard !isLast else { throw PathError(path: entry.path, reason: .duplicate) }
                guard nodes[child].kind == .directory else {
                    throw PathError(path: entry.path, reason: .nestedUnderFile(path(of: child)))
                }
                node = child
            } else {
                let kind: Kind
                switch entry.kind {
                case _ where !isLast: kind = .directory
                case .file: kind = .file
                case .symlink(let target): kind = .symlink(target: Array(target.utf8))
                }
                nodes.append(Node(name: Array(segment), parent: node, kind: kind))
                nodes[node].children[key] = nodes.count - 1
                node = nodes.count - 1
            }
        }
    }

    /// The node of `node` named `segment` by its folded form, whatever its spelling.
    func child(of node: Int, named segment: some Collection<UInt8>) -> Int? {
        nodes[node].children[PathFolding.key(segment)]
    }

    /// The path of a node, as the manifest spells it.
    func path(of node: Int) -> String {
        var names: [[UInt8]] = []
        var n = node
        while n != Self.root {
            names.append(nodes[n].name)
            n = nodes[n].parent
        }
        return String(decoding: Array(names.reversed().joined(separator: [UInt8(ascii: "/")])), as: UTF8.self)
    }
}
