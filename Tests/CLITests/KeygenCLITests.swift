import Foundation
import Testing

@Suite struct KeygenCLITests {
    @Test func unencryptedKeyPairWithSecretMode0600() throws {
        try withTemporaryDirectory { dir in
            let r = try bundlecast("keygen", "--out", "Keys/pub1", "--unencrypted", in: dir)
            #expect(r.code == 0, "\(r.stderr)")
            #expect(r.stdout.contains("Keys/pub1.key"))
            let attrs = try FileManager.default.attributesOfItem(atPath: dir + "/Keys/pub1.key")
            #expect((attrs[.posixPermissions] as? NSNumber)?.intValue == 0o600)
            let pub = try String(contentsOfFile: dir + "/Keys/pub1.pub", encoding: .utf8)
            #expect(pub.hasPrefix("untrusted comment: minisign public key "))
        }
    }

    @Test func neverOverwritesAKey() throws {
        try withTemporaryDirectory { dir in
            #expect(try bundlecast("keygen", "--out", "k", "--unencrypted", in: dir).code == 0)
            let before = try Data(contentsOf: URL(fileURLWithPath: dir + "/k.key"))
            let again = try bundlecast("keygen", "--out", "k", "--unencrypted", in: dir)
            #expect(again.code == 2)
            #expect(again.errorLine.contains("already exists"))
            #expect(try Data(contentsOf: URL(fileURLWithPath: dir + "/k.key")) == before)
        }
    }

    @Test func withoutAPassphraseOrTerminalItSaysWhatToDo() throws {
        try withTemporaryDirectory { dir in
            let r = try bundlecast("keygen", "--out", "k", in: dir)
            #expect(r.code == 2)
            #expect(r.errorLine.contains("--passphrase-file"))
            #expect(!FileManager.default.fileExists(atPath: dir + "/k.key"))
        }
    }

    @Test func conflictingFlagsAreAUsageError() throws {
        let r = try bundlecast("keygen", "--out", "/tmp/x", "--unencrypted", "--passphrase-file", "p")
        #expect(r.code == 64)
    }

    @Test func encryptedKeyNeedsItsPassphraseToRelease() throws {
        try withTemporaryDirectory { dir in
            try setUpSample(dir)
            let made = try bundlecast("keygen", "--out", "Keys/enc", in: dir, environment: ["BUNDLECAST_PASSPHRASE": "s3cret pass"])
            #expect(made.code == 0, "\(made.stderr)")
            #expect(made.stdout.contains("encrypted"))
            try write(dir + "/wrong.txt", "not it\n")
            let wrong = try bundlecast("release", "Samples/hello-fleet/1.0.0", "--app", "hello-fleet", "--version", "1.0.0",
                                       "--key", "Keys/enc.key", "--passphrase-file", "wrong.txt", in: dir)
            #expect(wrong.code == 2)
            #expect(wrong.errorLine.contains("wrong passphrase"))
            #expect(!FileManager.default.fileExists(atPath: dir + "/Manifests/hello-fleet/1.0.0.manifest"))
            try write(dir + "/right.txt", "s3cret pass\n")
            let right = try bundlecast("release", "Samples/hello-fleet/1.0.0", "--app", "hello-fleet", "--version", "1.0.0",
                                       "--key", "Keys/enc.key", "--passphrase-file", "right.txt", in: dir)
            #expect(right.code == 0, "\(right.stderr)")
        }
    }

    @Test func fleetKeyIsSecretAndNeverOverwritten() throws {
        try withTemporaryDirectory { dir in
            let r = try bundlecast("fleet-key", "--out", "etc/fleet.key", in: dir)
            #expect(r.code == 0, "\(r.stderr)")
            let attrs = try FileManager.default.attributesOfItem(atPath: dir + "/etc/fleet.key")
            #expect((attrs[.posixPermissions] as? NSNumber)?.intValue == 0o600)
            let again = try bundlecast("fleet-key", "--out", "etc/fleet.key", in: dir)
            #expect(again.code == 2)
            #expect(again.errorLine.contains("already exists"))
        }
    }
}
