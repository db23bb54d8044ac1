import Foundation
import FuzzChecks
import Testing
import TestSupport

/// Replays what the fuzz targets start from and everything they ever crashed on: seeds must
/// decode and keep every property, except seeds named `refused-*`, which steer the fuzzer to an
/// edge the decoder must refuse (so they must not decode); a regression input
/// (Fuzz/Regressions/CHECK/*) must keep every property, decoded or not.
@Suite struct FuzzRegressionTests {
    static func inputs(_ folder: String, _ check: FuzzCheck) -> [(String, [UInt8])] {
        let dir = repoRoot + "/Fuzz/\(folder)/\(check.rawValue)"
        let names = (try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? []
        return names.sorted().compactMap { name in
            FileManager.default.contents(atPath: dir + "/" + name).map { (name, [UInt8]($0)) }
        }
    }

    @Test(arguments: FuzzCheck.allCases) func seedsDecodeAndRoundTrip(_ check: FuzzCheck) {
        let seeds = Self.inputs("Seeds", check)
        #expect(seeds.filter { !$0.0.hasPrefix("refused-") }.count >= 2, "no seeds for \(check)")
        for (name, bytes) in seeds {
            let outcome = check.run(bytes)
            if name.hasPrefix("refused-") {
                #expect(!outcome.decoded, "seed \(name) of \(check) decodes, but is there to be refused")
            } else {
                #expect(outcome.decoded, "seed \(name) of \(check) does not decode")
            }
            #expect(outcome.failure == nil, "seed \(name): \(outcome.failure ?? "")")
        }
    }

    @Test(arguments: FuzzCheck.allCases) func crashesFoundByFuzzingStayFixed(_ check: FuzzCheck) {
        for (name, bytes) in Self.inputs("Regressions", check) {
            #expect(check.run(bytes).failure == nil, "regression \(name) of \(check)")
        }
    }

    @Test func aBrokenPropertyIsReported() throws {
        // A seed with one byte appended: the manifest and notice parsers must refuse it
        // rather than accept bytes they would not produce.
        for check in [FuzzCheck.manifest, .notice] {
            let (_, bytes) = try #require(Self.inputs("Seeds", check).first { !$0.0.hasPrefix("refused-") })
            #expect(!check.run(bytes + [0x20]).decoded, "\(check) accepted a trailing byte")
        }
    }
}
