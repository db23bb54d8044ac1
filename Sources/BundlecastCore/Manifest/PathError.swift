/// A path in a bundle or manifest that Bundlecast refuses, with the path and
/// the reason, so the publisher can fix exactly that file.
public struct PathError: Error, Equatable, CustomStringConvertible {
    public enum Reason: Equatable, Sendable {
        case empty
        case absolute
        case dotDot
        case dot
        case emptySegment
        case nul
        case controlCharacter
        case notUTF8
        case tooLong
        case duplicate
        /// Another entry's path (or one of its directories) differs only in case or Unicode form.
        case collides(String)
        case nestedUnderFile(String)
        case specialFile(String)
        case symlinkEscapes(String)
        case symlinkAbsolute(String)
        case symlinkLoop(String)
        case symlinkTargetInvalid(String)
        /// The target, and the bundle path it spells another way.
        case symlinkTargetSpelling(String, String)
    }

    public let path: String
    public let reason: Reason

    public init(path: String, reason: Reason) {
        self.path = path
        self.reason = reason
    }

    public var description: String {
        let why: String
        switch reason {
        case .empty: why = "empty path"
        case .absolute: why = "absolute path (paths must be relative to the bundle)"
        case .dotDot: why = "contains a '..' segment"
        case .dot: why = "contains a '.' segment"
        case .emptySegment: why = "contains an empty segment ('//' or a trailing '/')"
        case .nul: why = "contains a NUL byte"
        case .controlCharacter: why = "contains a control character (newline, tab, ...)"
        case .notUTF8: why = "is not valid UTF-8"
        case .tooLong: why = "is longer than \(BundlePath.maxBytes) bytes or has a segment over \(BundlePath.maxSegmentBytes)"
        case .duplicate: why = "appears twice"
        case .collides(let other):
            why = "differs from \"\(other)\" only in case or Unicode form; file systems that ignore the difference would make them one"
        case .nestedUnderFile(let parent): why = "lies under \"\(parent)\", which is a file or symlink, not a directory"
        case .specialFile(let kind): why = "is a \(kind); only regular files, directories and symlinks can be released"
        case .symlinkEscapes(let target): why = "is a symlink to \"\(target)\", which leaves the bundle"
        case .symlinkAbsolute(let target): why = "is a symlink to the absolute path \"\(target)\""
        case .symlinkLoop(let target): why = "is a symlink to \"\(target)\" that loops"
        case .symlinkTargetInvalid(let why2): why = "is a symlink whose target \(why2)"
        case .symlinkTargetSpelling(let target, let other):
            why = "is a symlink to \"\(target)\", which spells the bundle's \"\(other)\" in another case or Unicode form"
        }
        return "\"\(path)\": \(why)"
    }
}
