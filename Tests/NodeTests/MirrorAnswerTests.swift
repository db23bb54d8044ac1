import Testing
@testable import Node

/// What a node takes from a mirror's answer to a range request, rule by rule.
struct MirrorAnswerTests {
    static let body = [UInt8](repeating: 7, count: 100)

    static func chunk(status: Int = 206, range: String? = "bytes 1000-1099/5000", encoding: String? = nil,
                      body: [UInt8] = body, offset: UInt64 = 1000, length: Int = 100) -> Result<[UInt8], MirrorProblem> {
        MirrorAnswer.chunk(status: status, contentRange: range, contentEncoding: encoding, body: body, offset: offset, length: length, file: "1.0.0/f")
    }

    static func kind(_ r: Result<[UInt8], MirrorProblem>) -> MirrorProblem.Kind? {
        if case .failure(let p) = r { p.kind } else { nil }
    }

    @Test func theRangeHeaderNamesFirstAndLastByte() {
        #expect(MirrorAnswer.rangeHeader(offset: 0, length: 65536) == "bytes=0-65535")
        #expect(MirrorAnswer.rangeHeader(offset: 1000, length: 1) == "bytes=1000-1000")
        #expect(MirrorAnswer.rangeHeader(offset: .max, length: 1) == "bytes=18446744073709551615-18446744073709551615")
        #expect(MirrorAnswer.rangeHeader(offset: .max, length: 2) == nil, "overflows")
        #expect(MirrorAnswer.rangeHeader(offset: 0, length: 0) == nil)
        #expect(MirrorAnswer.rangeHeader(offset: 0, length: -1) == nil)
    }

    /// A mirror's header text reaches `bundlecast status` and the log: no escape sequence
    /// (a terminal takes ESC ] 52 as "write the clipboard") and no unbounded length.
    @Test func aMirrorsHeaderTextReachesTheProblemPrintableAndShort() {
        let escape = "\u{1b}]52;c;cm0gLXJmIH4=\u{07}\u{1b}[2K\r\n\"\\" + String(repeating: "9", count: 500)
        let answers = [Self.chunk(range: escape), Self.chunk(range: "bytes 0-99/5000" + escape), Self.chunk(encoding: escape)]
        for answer in answers {
            guard case .failure(let problem) = answer else { Issue.record("taken: \(answer)"); continue }
            let text = problem.description
            #expect(text.unicodeScalars.allSatisfy { $0.value >= 0x20 && $0.value < 0x7f }, "\(text.debugDescription)")
            #expect(text.utf8.count < 200, "\(text.utf8.count) bytes")
        }
    }

    @Test func anExact206IsTaken() throws {
        #expect(try Self.chunk().get() == Self.body)
        #expect(try Self.chunk(range: "bytes 1000-1099/*").get() == Self.body, "an unknown complete length is fine")
        #expect(try Self.chunk(encoding: "identity").get() == Self.body)
    }

    @Test(arguments: [
        "bytes 1001-1100/5000", "bytes 1000-1098/5000", "bytes 1000-1099/1099", "bytes 1000-1099", "bytes=1000-1099/5000",
        "bytes 1000-1099/5000, 0-1/5000", "bytes -1000-1099/5000", "bytes 1000-1099/99999999999999999999", "bytes +1000-1099/5000",
        "bytes 1099-1000/5000", "", "items 1000-1099/5000",
    ])
    func aContentRangeOtherThanTheOneAskedIsRefused(range: String) {
        #expect(Self.kind(Self.chunk(range: range)) == .refused, "\(range)")
    }

    @Test func aWrongLengthOrEncodingIsRefused() {
        #expect(Self.kind(Self.chunk(range: nil)) == .refused)
        #expect(Self.kind(Self.chunk(body: Array(Self.body.dropLast()))) == .refused, "short")
        #expect(Self.kind(Self.chunk(body: Self.body + [1])) == .refused, "long")
        #expect(Self.kind(Self.chunk(encoding: "gzip")) == .refused, "a range of a compressed body is not a range of the file")
    }

    @Test func a200IsTakenOnlyWhenTheWholeFileIsTheChunk() throws {
        #expect(try Self.chunk(status: 200, range: nil, offset: 0).get() == Self.body)
        #expect(Self.kind(Self.chunk(status: 200, range: nil, offset: 1000)) == .refused, "it ignores Range")
        #expect(Self.kind(Self.chunk(status: 200, range: nil, body: Self.body + Self.body, offset: 0)) == .refused)
    }

    @Test func statusesSayWhetherToTryAgainLater() {
        for status in [404, 410, 500, 502, 503, 429, 408, 403, 204] {
            #expect(Self.kind(Self.chunk(status: status)) == .unavailable, "\(status)")
        }
        for status in [301, 302, 307, 308, 416] {
            #expect(Self.kind(Self.chunk(status: status)) == .refused, "\(status)")
        }
    }

    @Test func manifestsAreTakenFromA200Only() throws {
        #expect(try MirrorAnswer.manifest(status: 200, contentEncoding: nil, body: Self.body, file: "1.0.0.manifest").get() == Self.body)
        #expect(throws: MirrorProblem.unavailable("has no 1.0.0.manifest (404)")) {
            try MirrorAnswer.manifest(status: 404, contentEncoding: nil, body: [], file: "1.0.0.manifest").get()
        }
        #expect(throws: MirrorProblem.unavailable("answered 206 for 1.0.0.manifest")) {
            try MirrorAnswer.manifest(status: 206, contentEncoding: nil, body: [], file: "1.0.0.manifest").get()
        }
        if case .failure(let p) = MirrorAnswer.manifest(status: 200, contentEncoding: "br", body: [], file: "m") { #expect(p.kind == .refused) } else {
            Issue.record("a compressed manifest was taken")
        }
    }

    @Test func contentRangeParsing() {
        #expect(MirrorAnswer.parseContentRange("bytes 0-0/1")! == (0, 0, 1))
        #expect(MirrorAnswer.parseContentRange("bytes 5-9/*")! == (5, 9, nil))
        #expect(MirrorAnswer.parseContentRange("bytes 18446744073709551615-18446744073709551615/*")! == (.max, .max, nil))
        for bad in ["bytes 18446744073709551616-18446744073709551616/*", "bytes */100", "bytes 1-/5", "bytes -5/5", "bytes 1 - 2/5",
                    "bytes 0x1-2/5", "bytes 1-2/", "bytes 1-2/5/6", "bytes 1\u{0}-2/5"] {
            #expect(MirrorAnswer.parseContentRange(bad) == nil, "\(bad)")
        }
    }
}
