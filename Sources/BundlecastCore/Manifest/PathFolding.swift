import Foundation

/// The name a file system may see in a path segment: what two segments have in common when
/// some file system would store them as one file.
///
/// ext4 compares names by their bytes, but APFS and HFS+ treat canonically equivalent Unicode
/// as one name (`é` and `e` + U+0301), and they, NTFS and FAT ignore case by default; HFS+ also
/// ignores a few invisible code points. A bundle is installed on all of them, so two entries
/// whose segments fold to the same key are refused (git's protectHFS/protectNTFS, for every
/// name instead of only `.git`).
enum PathFolding {
    /// Canonical decomposition, case folded (lower of upper: `ß` and `SS` meet, as do `ſ`, `s`
    /// and `S`), decomposed again, with the code points HFS+ ignores taken out. ASCII, by far the
    /// common case, is only lower-cased: the long way gives the same bytes for it.
    static func key(_ segment: some Collection<UInt8>) -> [UInt8] {
        if segment.allSatisfy({ $0 < 0x80 }) {
            return segment.map { $0 >= UInt8(ascii: "A") && $0 <= UInt8(ascii: "Z") ? $0 | 0x20 : $0 }
        }
        let text = String(decoding: segment, as: UTF8.self)
        let folded = text.decomposedStringWithCanonicalMapping.uppercased().lowercased().decomposedStringWithCanonicalMapping
        var out = String.UnicodeScalarView()
        out.append(contentsOf: folded.unicodeScalars.filter { !isIgnoredByHFS($0.value) })
        return Array(String(out).utf8)
    }

    /// Code points HFS+ skips when it compares names (git's `next_hfs_char`).
    static func isIgnoredByHFS(_ v: UInt32) -> Bool {
        (0x200C...0x200F).contains(v) || (0x202A...0x202E).contains(v) || (0x206A...0x206F).contains(v) || v == 0xFEFF
    }
}
