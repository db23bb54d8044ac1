import BundlecastCore
import Foundation
@testable import Node
import Testing
import TestSupport

/// Integers from outside the node (the command line, its own database file) are bounded
/// or saturated where they are used: a bad value is refused or clamped, never a trap.
@Suite struct OutsideIntegerTests {
    let publisher = SecretKey.fromSeed([UInt8](repeating: 1, count: 32), keyID: KeyID(bytes: [1, 1, 1, 1, 1, 1, 1, 1])!)

    func notice(sequence: UInt64) throws -> SignedNotice {
        let manifest = Array("manifest \(sequence)".utf8)
        let n = try Notice(kind: .release, app: "acme", version: SemanticVersion("1.0.\(sequence)"), sequence: sequence, channel: "stable",
                           manifest: Blake2b.digest256(manifest), size: 1, rollout: 100, created: 1_700_000_000, expires: 1_900_000_000)
        return try SignedNotice(notice: n, manifestBytes: manifest, key: publisher)
    }

    /// `--stagger` in nanoseconds: seconds times 10^9 overflowed Int64 past 292 years.
    @Test func staggerNanosecondsSaturate() {
        #expect(Updater.nanoseconds(.seconds(2)) == 2_000_000_000)
        #expect(Updater.nanoseconds(.milliseconds(1500)) == 1_500_000_000)
        #expect(Updater.nanoseconds(.zero) == 0)
        #expect(Updater.nanoseconds(.seconds(-5)) == 0)
        #expect(Updater.nanoseconds(.seconds(UInt64(10_000_000_000))) == .max)
        #expect(Updater.nanoseconds(.seconds(UInt64.max)) == .max)
    }

    /// A negative sequence in node.sqlite (the code never writes one) counts as none held:
    /// the next notice replaces the row instead of trapping in `UInt64(held)`.
    @Test func aNegativeSequenceInTheDatabaseCountsAsNoneHeld() throws {
        try withTemporaryDirectory { (dir: String) throws -> Void in
            let path = dir + "/node.sqlite"
            do {
                let store = try NodeStore(path: path)
                #expect(try store.accept(try notice(sequence: 3), source: "test", now: 1_800_000_000) == .accepted)
            }
            let edit = try runProgram("/usr/bin/sqlite3", [path, "UPDATE notice SET sequence = -5"])
            #expect(edit.code == 0, "\(edit.stderr)")
            let store = try NodeStore(path: path)
            #expect(try store.accept(try notice(sequence: 4), source: "test", now: 1_800_000_000) == .accepted)
            #expect(try store.accept(try notice(sequence: 4), source: "test", now: 1_800_000_000) == .stale(held: 4))
        }
    }

    /// A value of the wrong type in node.sqlite (text where a number belongs, a number past
    /// Int64): reading that row is an error the caller reports, never a trap.
    @Test func aValueOfTheWrongTypeInTheDatabaseIsAnErrorNotATrap() throws {
        try withTemporaryDirectory { (dir: String) throws -> Void in
            let path = dir + "/node.sqlite"
            do {
                let store = try NodeStore(path: path)
                #expect(try store.accept(try notice(sequence: 3), source: "test", now: 1_800_000_000) == .accepted)
            }
            let edit = try runProgram("/usr/bin/sqlite3", [path, "UPDATE notice SET receivedAt = 'x'"])
            #expect(edit.code == 0, "\(edit.stderr)")
            let store = try NodeStore(path: path)
            #expect(throws: (any Error).self) { try store.latestRecord(app: "acme", channel: "stable") }
            let big = try runProgram("/usr/bin/sqlite3", [path, "UPDATE notice SET receivedAt = 1e19"])
            #expect(big.code == 0, "\(big.stderr)")
            #expect(throws: (any Error).self) { try store.latestRecord(app: "acme", channel: "stable") }
        }
    }
}
