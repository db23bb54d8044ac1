import BundlecastCore
import Foundation
@testable import Origin
import Testing

/// Integers from outside the origin (its database file, `--timestamp-validity`, a notice's
/// sequence) are bounded or saturated where they are used: refused or clamped, never a trap.
@Suite struct OriginOutsideIntegerTests {
    /// `now + validity` trapped for a validity near 2^64 seconds (`--timestamp-validity` took any
    /// number of seconds): the validity is cut to 30 days, and the sum saturates.
    @Test func aHugeTimestampValidityIsCut() throws {
        let signer = TimestampSigner(key: otherKey, validity: .max)
        let now: UInt64 = 1_800_000_000
        let t = try signer.timestamp(app: "hello-fleet", channel: "stable", sequence: 1, now: now, keep: true)
        #expect(t.expires == now + OriginSettings.maxTimestampValidity)
        #expect(throws: (any Error).self) { try signer.timestamp(app: "hello-fleet", channel: "stable", sequence: 2, now: .max - 10, keep: true) }
    }

    /// A negative sequence in origin.sqlite (the origin never writes one) is read as 0, not
    /// trapped on in `UInt64(_:)` when the board is warmed at start.
    @Test func aNegativeSequenceInTheDatabaseIsReadAsZero() throws {
        try withTemporaryDirectory { (dir: String) throws -> Void in
            let path = dir + "/origin.sqlite"
            do {
                let store = try OriginStore(path: path, create: true)
                _ = try store.register(app: "hello-fleet", key: demoKey.publicKey, now: 1_800_000_000)
                #expect(try store.submit(try SignedNotice(bytes: try notice(sequence: 5)), body: try notice(sequence: 5), now: 1_800_000_000) == .created)
            }
            let edit = try runProgram("/usr/bin/sqlite3", [path, "UPDATE notice SET sequence = -7"])
            #expect(edit.code == 0, "\(edit.stderr)")
            let store = try OriginStore(path: path, create: false)
            #expect(try store.allLatest().map(\.sequence) == [0])
            #expect(try store.notices(app: "hello-fleet", after: 0, limit: 10).isEmpty)
        }
    }

    /// SQLite integers are signed: the store refuses a sequence above 2^63-1 itself, whoever calls it.
    @Test func theStoreRefusesASequenceAboveInt64() throws {
        try withTemporaryDirectory { (dir: String) throws -> Void in
            let store = try OriginStore(path: dir + "/origin.sqlite", create: true)
            _ = try store.register(app: "hello-fleet", key: demoKey.publicKey, now: 1_800_000_000)
            let body = try notice(sequence: UInt64(Int64.max) + 1)
            #expect(throws: OriginStoreError.self) { try store.submit(try SignedNotice(bytes: body), body: body, now: 1_800_000_000) }
        }
    }
}

/// What a publisher's commands read from an origin is bounded before they add to it.
@Suite struct OriginClientBoundsTests {
    /// `release --origin` and `rollout`/`withdraw` took the origin's highest sequence + 1:
    /// an answer of 2^64-1 trapped there; above 2^63-1 it is now an unreadable answer.
    @Test func aSequenceAboveInt64IsAnUnreadableAnswer() {
        #expect(OriginClient.sequence(inSummary: Data(#"{"sequence":7}"#.utf8)) == 7)
        #expect(OriginClient.sequence(inSummary: Data(#"{"sequence":9223372036854775807}"#.utf8)) == UInt64(Int64.max))
        #expect(OriginClient.sequence(inSummary: Data(#"{"sequence":9223372036854775808}"#.utf8)) == nil)
        #expect(OriginClient.sequence(inSummary: Data(#"{"sequence":18446744073709551615}"#.utf8)) == nil)
        #expect(OriginClient.sequence(inSummary: Data(#"{"sequence":-1}"#.utf8)) == nil)
    }
}
