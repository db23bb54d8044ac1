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
///
/// Each link of the bundle is resolved once per manifest and remembered: a link's target
/// resolves from its own directory whoever reaches it, so the result (where it leads, and
/// the hops it took) is the same every time. Walked afresh for every link that reaches it,
/// a long chain shared by many links costs their number times the chain's length;
/// remembered, the check costs about the manifest's own length.
struct SymlinkCheck {
    static let maxHops = 40

    let tree: BundleTree
    /// Links resolved so far, by node.
    private var resolved: [Int: Resolution] = [:]

    /// Failures are not kept: the first one refuses the whole manifest.
    private enum Resolution {
        case leadsTo(stack: [Int?], hops: Int)
        /// Being resolved: reaching it again from its own target is a loop.
        case underWay
    }

    private enum Failure: Error {
        case escapes
        case loop
        case spelling(String)
    }

    init(tree: BundleTree) { self.tree = tree }

    mutating func check(path: String, target: String) throws(PathError) {
        let bytes = Array(target.utf8)
        if bytes.first == UInt8(ascii: "/") {
            throw PathError(path: path, reason: .symlinkAbsolute(target))
        }
        if let reason = BundlePath.problem(bytes, allowDots: true) {
            throw PathError(path: path, reason: .symlinkTargetInvalid(PathError(path: target, reason: reason).description))
        }
        // The directories walked through: their nodes, or nil past what the bundle holds.
        var stack: [Int?] = []
        for name in Array(path.utf8).split(separator: UInt8(ascii: "/")).dropLast() {
            stack.append((stack.last ?? BundleTree.root).flatMap { tree.child(of: $0, named: name) })
        }
        do throws(Failure) {
            _ = try walk(from: stack, bytes, depth: 0)
        } catch {
            switch error {
            case .escapes: throw PathError(path: path, reason: .symlinkEscapes(target))
            case .loop: throw PathError(path: path, reason: .symlinkLoop(target))
            case .spelling(let reached): throw PathError(path: path, reason: .symlinkTargetSpelling(target, reached))
            }
        }
    }

    /// Resolves `target` from the directories `start`: where it leads, and the link hops taken.
    /// `depth` is how many links this walk is nested in: each is a hop, so past ``maxHops``
    /// it is a loop, found before the stack grows with the chain (a manifest may hold
    /// hundreds of thousands of links, and a recursion that deep would overflow the stack).
    private mutating func walk(from start: [Int?], _ target: [UInt8], depth: Int) throws(Failure) -> (stack: [Int?], hops: Int) {
        var stack = start
        var hops = 0
        for segment in target.split(separator: UInt8(ascii: "/")) {
            if segment.elementsEqual(".".utf8) { continue }
            if segment.elementsEqual("..".utf8) {
                guard !stack.isEmpty else { throw .escapes }
                stack.removeLast()
                continue
            }
            guard let here = stack.last ?? BundleTree.root, let node = tree.child(of: here, named: segment) else {
                stack.append(nil)
                continue
            }
            guard tree.nodes[node].name.elementsEqual(segment) else { throw .spelling(tree.path(of: node)) }
            guard case .symlink = tree.nodes[node].kind else {
                stack.append(node)
                continue
            }
            guard depth < Self.maxHops else { throw .loop }
            let link = try resolve(node, from: stack, depth: depth + 1)
            hops += 1 + link.hops
            guard hops <= Self.maxHops else { throw .loop }
            stack = link.stack
        }
        return (stack, hops)
    }

    /// Where the link `node` leads, from its directories `stack` (always the same for a node:
    /// a link is reached only through its parent, so `stack` is its ancestors).
    private mutating func resolve(_ node: Int, from stack: [Int?], depth: Int) throws(Failure) -> (stack: [Int?], hops: Int) {
        switch resolved[node] {
        case .leadsTo(let stack, let hops)?: return (stack, hops)
        case .underWay?: throw .loop
        case nil: break
        }
        guard case .symlink(let next) = tree.nodes[node].kind else { return (stack + [node], 0) }
        if next.first == UInt8(ascii: "/") { throw .escapes }
        resolved[node] = .underWay
        let result = try walk(from: stack, next, depth: depth)
        resolved[node] = .leadsTo(stack: result.stack, hops: result.hops)
        return result
    }
}
