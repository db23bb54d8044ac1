/// Proves that symlinks stay inside the bundle.
///
/// A lexical check of each target alone is not enough: `a -> .` followed by
/// `b -> a/x/../..` looks inside lexically but resolves above the root. So the
/// check resolves each target the way the kernel would, over the bundle's own
/// tree, following links that are part of the bundle (at most 40 hops).
///
/// Names are matched by their bytes, as ext4 does. A target that reaches a path of the
/// bundle by another spelling (case, Unicode form) is refused: a file system that merges the
/// two would follow a link this check did not, and one that does not would see a dangling link.
enum SymlinkCheck {
    static let maxHops = 40

    static func check(path: String, target: String, tree: BundleTree) throws(PathError) {
        let bytes = Array(target.utf8)
        if bytes.first == UInt8(ascii: "/") {
            throw PathError(path: path, reason: .symlinkAbsolute(target))
        }
        if let reason = BundlePath.problem(bytes, allowDots: true) {
            throw PathError(path: path, reason: .symlinkTargetInvalid(PathError(path: target, reason: reason).description))
        }
        func segments(_ b: [UInt8]) -> [ArraySlice<UInt8>] {
            b.split(separator: UInt8(ascii: "/")).reversed()
        }
        // The directories walked through: their nodes, or nil past what the bundle holds.
        var stack: [Int?] = []
        for name in Array(path.utf8).split(separator: UInt8(ascii: "/")).dropLast() {
            stack.append((stack.last ?? BundleTree.root).flatMap { tree.child(of: $0, named: name) })
        }
        var pending = segments(bytes)
        var hops = 0
        while let segment = pending.popLast() {
            if segment.elementsEqual(".".utf8) { continue }
            if segment.elementsEqual("..".utf8) {
                guard !stack.isEmpty else { throw PathError(path: path, reason: .symlinkEscapes(target)) }
                stack.removeLast()
                continue
            }
            guard let here = stack.last ?? BundleTree.root, let node = tree.child(of: here, named: segment) else {
                stack.append(nil)
                continue
            }
            guard tree.nodes[node].name.elementsEqual(segment) else {
                throw PathError(path: path, reason: .symlinkTargetSpelling(target, tree.path(of: node)))
            }
            guard case .symlink(let next) = tree.nodes[node].kind else {
                stack.append(node)
                continue
            }
            hops += 1
            guard hops <= maxHops else { throw PathError(path: path, reason: .symlinkLoop(target)) }
            if next.first == UInt8(ascii: "/") {
                throw PathError(path: path, reason: .symlinkEscapes(target))
            }
            pending.append(contentsOf: segments(next))
        }
    }
}
