import BundlecastCore
import Testing

@Suite struct FleetKeyTests {
    @Test func sealedPacketsOpenOnlyWithTheKeyAndUntouched() throws {
        let key = FleetKey.generate()
        let payload = Array("BG\u{1}ping".utf8)
        let sealed = key.seal(payload)
        #expect(sealed.count == payload.count + FleetKey.tagLength)
        #expect(key.open(sealed) == payload)
        #expect(FleetKey.generate().open(sealed) == nil, "another fleet's key")
        for i in [0, 31, 32, sealed.count - 1] {
            var tampered = sealed
            tampered[i] ^= 0x01
            #expect(key.open(tampered) == nil, "byte \(i)")
        }
        #expect(key.open(Array(sealed.prefix(31))) == nil)
        #expect(key.open(payload) == nil, "an unauthenticated packet")
    }

    @Test func keyFilesRoundTrip() throws {
        let key = FleetKey.generate()
        #expect(try FleetKey(fileText: key.fileText) == key)
        #expect(throws: KeyFileError.self) { try FleetKey(fileText: "untrusted comment: x\nAAAA\n") }
    }
}
