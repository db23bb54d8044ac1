/// Proves that symlinks stay inside the bundle.
///
/// A lexical check of each target alone is not enough: `a -> .` followed by
/// `b -> a/x/../..` looks inside lexically but resolves above the root. So the
/// check resolves each target the way the kernel would, over the bundle's own
/// tree, following links that are part of the bundle (at most 40 hops).
enum SymlinkCheck {
    static let maxHops = 40

    /// - Parameter links: every symlink of the bundle, path to target.
    static func check(path: String, target: String, links: [String: String]) throws(PathError) {
        let bytes = Array(target.utf8)
        if bytes.first == UInt8(ascii: "/") {
            throw PathError(path: path, reason: .symlinkAbsolute(target))
        }
        if let reason = BundlePath.problem(bytes, allowDots: true) {
            throw PathError(path: path, reason: .symlinkTargetInvalid(PathError(path: target, reason: reason).description))
        }
        var stack = path.split(separator: "/").dropLast().map(String.init)
        var pending = Array(target.split(separator: "/").map(String.init).reversed())
        var hops = 0
        while let segment = pending.popLast() {
            switch segment {
            case ".": continue
            case "..":
                guard !stack.isEmpty else { throw PathError(path: path, reason: .symlinkEscapes(target)) }
                stack.removeLast()
            default:
                stack.append(segment)
                guard let next = links[stack.joined(separator: "/")] else { continue }
                hops += 1
                guard hops <= maxHops else { throw PathError(path: path, reason: .symlinkLoop(target)) }
                if next.utf8.first == UInt8(ascii: "/") {
                    throw PathError(path: path, reason: .symlinkEscapes(target))
                }
                stack.removeLast()
                pending.append(contentsOf: next.split(separator: "/").map(String.init).reversed())
            }
        }
    }
}
