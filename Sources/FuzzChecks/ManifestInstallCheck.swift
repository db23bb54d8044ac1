import BundlecastCore
import Publisher

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// ``FuzzCheck/manifestInstall``: a manifest, from raw bytes (first byte even) or built from a
/// few choices of paths, modes, chunk sizes and symlink targets (odd), goes through the parser
/// (``ManifestCoder/decode(_:)``, which validates paths, order and the symlink check) and, if
/// it parses, is laid out in a fresh temporary directory with ``TreeLayout`` (the installer's
/// own layout), each file created as the staged install creates it (`O_EXCL | O_NOFOLLOW`, at
/// its size, sparse).
///
/// The install is checked in a sandbox `DIR/` holding the tree `DIR/root` and a decoy
/// directory `DIR/outside`. Properties:
/// - nothing traps; a manifest built from choices parses back from its own bytes;
/// - the layout of a parsed manifest succeeds (paths permitting: the tree's deepest path fits
///   `PATH_MAX`);
/// - nothing is created outside `DIR/root`: the sandbox holds only `root` and the untouched,
///   empty decoy, and the real path of every entry's directory is inside `root`;
/// - the tree holds exactly the manifest's entries, each of its kind (a file at its size and
///   mode, a symlink with its target), and every symlink, resolved by the kernel's rules over
///   the tree on disk, stays inside `root`.
enum ManifestInstallCheck {
    /// Segments to build paths and targets from: ordinary, dotted, spaced, non-ASCII, and a few
    /// that the path rules refuse.
    static let segments = ["a", "b", "bin", "lib", ".", "..", "c d", "é", "e\u{301}", "", ".hidden", "x~",
                           String(repeating: "s", count: 255), String(repeating: "t", count: 256), "a\u{7F}", "CON"]
    /// Where sandboxes go: tmpfs when there is one (no disk for the fuzzer to wear out).
    static let base: String = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp"

    static func run(_ bytes: [UInt8]) -> FuzzCheck.Outcome {
        guard let mode = bytes.first else { return FuzzCheck.Outcome(decoded: false) }
        let manifest: Manifest
        if mode & 1 == 0 {
            guard let m = try? ManifestCoder.decode(Array(bytes.dropFirst())) else { return FuzzCheck.Outcome(decoded: false) }
            manifest = m
        } else {
            var input = FuzzInput(Array(bytes.dropFirst()))
            guard let built = build(&input) else { return FuzzCheck.Outcome(decoded: false) }
            guard let back = try? ManifestCoder.decode(built.encoded()), back == built else {
                return FuzzCheck.Outcome(decoded: true, failure: "a valid manifest does not parse back from its bytes: \(built)")
            }
            manifest = back
        }
        return FuzzCheck.Outcome(decoded: true, failure: install(manifest))
    }

    static func build(_ input: inout FuzzInput) -> Manifest? {
        var entries: [ManifestEntry] = []
        for _ in 0..<input.below(12) {
            let kind = input.byte()
            let path = self.path(&input, allowAbsolute: false)
            if kind & 1 == 0 {
                let chunks = (0..<(1 + input.below(3))).map { i in
                    let size = kind & 2 != 0 ? 16_384 + UInt32(input.u16()) : 1 + UInt32(input.byte())
                    // A made-up digest per position, kind and size: one digest, one size, as the parser requires.
                    return ChunkRef(digest: Blake2b.digest256([UInt8(i), kind] + withUnsafeBytes(of: size.littleEndian) { Array($0) }), size: size)
                }
                entries.append(.file(path: path, executable: kind & 4 != 0, chunks: chunks))
            } else {
                entries.append(ManifestEntry(path: path, kind: .symlink(target: self.path(&input, allowAbsolute: true))))
            }
        }
        if !input.bool() {
            // Mostly in order and without duplicates, so the deeper rules are reached.
            entries.sort { BundlePath.precedes($0.path, $1.path) }
            var seen = Set<String>()
            entries = entries.filter { seen.insert($0.path).inserted }
        }
        return try? Manifest(app: "app", version: try! SemanticVersion("1.0.0"), entries: entries)
    }

    static func path(_ input: inout FuzzInput, allowAbsolute: Bool) -> String {
        let shape = input.byte()
        if shape == 0xFF { return String(decoding: input.bytes(input.below(12)), as: UTF8.self) }
        var parts: [String] = []
        for _ in 0..<(1 + Int(shape % 4)) { parts.append(input.pick(segments)) }
        return (allowAbsolute && shape & 0x80 != 0 ? "/" : "") + parts.joined(separator: "/")
    }

    // MARK: - Install and check

    static func install(_ manifest: Manifest) -> String? {
        var template = Array("\(base)/bundlecast-fuzz-XXXXXX".utf8CString)
        guard let made = template.withUnsafeMutableBufferPointer({ mkdtemp($0.baseAddress!) }) else {
            return nil  // the machine's problem, not the manifest's
        }
        let sandbox = String(cString: made)
        defer { removeTree(sandbox) }
        guard let realSandbox = realPath(sandbox) else { return nil }
        let root = realSandbox + "/root"
        let decoy = realSandbox + "/outside"
        guard mkdir(decoy, 0o755) == 0 else { return nil }
        let fits = manifest.entries.allSatisfy { root.utf8.count + 1 + $0.path.utf8.count < Int(PATH_MAX) - 1 }
        do {
            try TreeLayout.layOut(manifest, into: root) { path, executable, size, _ in
                let fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, executable ? 0o755 : 0o644)
                guard fd >= 0 else { throw FileError.errno("create", path) }
                defer { close(fd) }
                fchmod(fd, executable ? 0o755 : 0o644)
                guard ftruncate(fd, off_t(min(size, UInt64(Int64.max)))) == 0 else { throw FileError.errno("size", path) }
            }
        } catch {
            if fits { return "laying out a parsed manifest failed: \(error)" }
        }
        // Nothing beside the tree and the untouched decoy.
        let top = list(realSandbox).sorted()
        if top != ["outside", "root"] { return "the sandbox holds \(top)" }
        if !list(decoy).isEmpty { return "the decoy outside the tree holds \(list(decoy))" }
        var expected: [String: ManifestEntry] = [:]
        for entry in manifest.entries { expected[entry.path] = entry }
        var found = 0
        var problem: String?
        walk(root, "") { relative, st in
            guard problem == nil else { return }
            let full = root + "/" + relative
            let parent = String(BundlePath.parent(Substring(full))!)
            guard let realParent = realPath(parent), inside(realParent, root) else {
                problem = "\(relative) was created in \(parent), which resolves outside the tree"
                return
            }
            let type = st.st_mode & S_IFMT
            if type == S_IFDIR {
                if let entry = expected[relative] { problem = "\(relative) is a directory, the manifest has \(entry.kind)" }
                return
            }
            found += 1
            guard let entry = expected[relative] else {
                problem = "\(relative) is not in the manifest"
                return
            }
            switch entry.kind {
            case .file(let executable, let size, _, _):
                if type != S_IFREG || UInt64(st.st_size) != size || ((st.st_mode & 0o100) != 0) != executable {
                    problem = "\(relative) is not the file the manifest names"
                }
            case .symlink(let target):
                guard type == S_IFLNK, readLink(full) == target else {
                    problem = "\(relative) is not the symlink the manifest names"
                    return
                }
                if let resolved = resolve(target, from: realParent, root: root), !inside(resolved, root) {
                    problem = "symlink \(relative) -> \(target) resolves to \(resolved), outside the tree"
                }
            }
        }
        if let problem { return problem }
        if fits, found != manifest.entries.count { return "\(found) entries on disk, the manifest has \(manifest.entries.count)" }
        return nil
    }

    /// By bytes, as every path here: `hasPrefix` compares characters, and a combining mark after
    /// the `/` would make a path inside look outside.
    static func inside(_ path: String, _ root: String) -> Bool {
        path.utf8.elementsEqual(root.utf8) || path.utf8.starts(with: (root + "/").utf8)
    }

    /// Where the kernel would take `target`, a link in `directory` (a real path), over the tree
    /// as it is on disk: each existing component followed (links included, via `realpath`); the
    /// first missing one ends the walk, as it would end a lookup. nil when it cannot be resolved.
    static func resolve(_ target: String, from directory: String, root: String) -> String? {
        var current = target.utf8.first == UInt8(ascii: "/") ? "/" : directory
        for part in BundlePath.segments(target) {
            let candidate = (current == "/" ? "" : current) + "/" + part
            var st = stat()
            guard lstat(candidate, &st) == 0 else { return current }
            guard let real = realPath(candidate) else { return candidate }
            current = real
        }
        return current
    }

    static func realPath(_ path: String) -> String? {
        guard let p = realpath(path, nil) else { return nil }
        defer { free(p) }
        return String(cString: p)
    }

    static func readLink(_ path: String) -> String? {
        var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
        let n = readlink(path, &buffer, buffer.count - 1)
        guard n >= 0 else { return nil }
        return String(decoding: buffer[..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// Names in a directory, unsorted.
    static func list(_ directory: String) -> [String] {
        guard let dir = opendir(directory) else { return [] }
        defer { closedir(dir) }
        var names: [String] = []
        while let entry = readdir(dir) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
            if name != ".", name != ".." { names.append(name) }
        }
        return names
    }

    /// Every entry below `directory`, by `lstat` (links are not followed), in name order.
    static func walk(_ directory: String, _ relative: String, _ body: (String, stat) -> Void) {
        for name in list(directory).sorted() {
            let path = directory + "/" + name
            let rel = relative.isEmpty ? name : relative + "/" + name
            var st = stat()
            guard lstat(path, &st) == 0 else { continue }
            body(rel, st)
            if st.st_mode & S_IFMT == S_IFDIR { walk(path, rel, body) }
        }
    }

    /// Removes a tree without following links.
    static func removeTree(_ path: String) {
        var st = stat()
        guard lstat(path, &st) == 0 else { return }
        if st.st_mode & S_IFMT == S_IFDIR {
            for name in list(path) { removeTree(path + "/" + name) }
            rmdir(path)
        } else {
            unlink(path)
        }
    }
}
